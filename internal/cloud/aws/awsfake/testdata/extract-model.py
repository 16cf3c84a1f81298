#!/usr/bin/env python3
"""Writes ec2-model-excerpt.json: the operations awsfake serves and every
shape their input and output reach, from botocore's EC2 (and STS) service
models, without documentation, enums or constraints.

  git -C <botocore clone> show <commit>:botocore/data/ec2/2016-11-15/service-2.json > ec2.json
  git -C <botocore clone> show <commit>:botocore/data/sts/2011-06-15/service-2.json > sts.json
  python3 extract-model.py <commit> ec2.json sts.json Action1 Action2 ... > ec2-model-excerpt.json
"""
import json
import sys

KEEP = ("type", "members", "member", "key", "value", "locationName", "queryName", "shape", "flattened", "resultWrapper")


def strip(d):
    return {k: (strip(v) if isinstance(v, dict) and k in ("member", "key", "value") else v)
            for k, v in d.items() if k in KEEP}


def excerpt(model, names):
    shapes, ops = {}, {}

    def reach(name):
        if name in shapes:
            return
        s = model["shapes"][name]
        out = {k: v for k, v in s.items() if k in ("type",)}
        if "members" in s:
            out["members"] = {m: strip(v) for m, v in s["members"].items()}
        for k in ("member", "key", "value"):
            if k in s:
                out[k] = strip(s[k])
        shapes[name] = out
        for m in s.get("members", {}).values():
            reach(m["shape"])
        for k in ("member", "key", "value"):
            if k in s:
                reach(s[k]["shape"])

    for n in names:
        if n not in model["operations"]:
            continue
        op = model["operations"][n]
        ops[n] = {k: strip(op[k]) for k in ("input", "output") if k in op}
        for k in ("input", "output"):
            if k in op:
                reach(op[k]["shape"])
    return {"metadata": {k: model["metadata"][k] for k in ("apiVersion", "protocol", "xmlNamespace") if k in model["metadata"]},
            "operations": ops, "shapes": shapes}


commit, ec2, sts, names = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3])), sys.argv[4:]
json.dump({
    "source": "https://github.com/boto/botocore at commit " + commit +
              ": botocore/data/ec2/2016-11-15/service-2.json and botocore/data/sts/2011-06-15/service-2.json",
    "license": "Apache License 2.0 (botocore, Copyright Amazon.com, Inc. or its affiliates); an excerpt: "
               "the operations awsfake serves and the shapes they reach, documentation, enums and constraints removed",
    "ec2": excerpt(ec2, names), "sts": excerpt(sts, names),
}, sys.stdout, indent=1, sort_keys=True)
sys.stdout.write("\n")
