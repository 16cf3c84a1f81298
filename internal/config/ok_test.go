package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Defaults, written out by hand so that dropping a default tag fails.
func defaultBuild() Build {
	return Build{
		SindriVersion:    "latest",
		SindriReleaseURL: "https://github.com/pacphi/sindri/releases/download",
		Cache:            true,
		NamePrefix:       "sindri",
		SSHTimeout:       "20m",
		Security: Security{
			CISHardening:       true,
			OpenSCAPScan:       false,
			CleanSensitiveData: true,
			RemoveSSHKeys:      true,
		},
	}
}

func defaultAWS() *AWS {
	return &AWS{
		Region: "us-west-2", InstanceType: "t3.large", VolumeSize: 80, VolumeType: "gp3",
		EncryptBoot: true, SSHUsername: "ubuntu",
	}
}

func defaultAzure() *Azure {
	return &Azure{
		SubscriptionID: "00000000-0000-0000-0000-000000000000", ResourceGroup: "sindri-rg",
		Location: "westus2", VMSize: "Standard_D4s_v4", OSDiskSizeGB: 80, StorageAccountType: "Premium_LRS",
		ImagePublisher: "Canonical", ImageOffer: "ubuntu-24_04-lts", ImageSKU: "server", SSHUsername: "packer",
	}
}

func defaultGCP() *GCP {
	return &GCP{
		ProjectID: "my-project-123", Zone: "us-west1-a", MachineType: "e2-standard-4", DiskSize: 80,
		DiskType: "pd-ssd", EnableSecureBoot: true, SourceImageFamily: "ubuntu-2404-lts-amd64",
		SourceImageProject: "ubuntu-os-cloud", SSHUsername: "packer",
	}
}

func defaultOCI() *OCI {
	return &OCI{
		CompartmentOCID: "ocid1.compartment.oc1..aaaa", AvailabilityDomain: "Uocm:US-ASHBURN-AD-1",
		Shape: "VM.Standard.E4.Flex", ShapeConfig: OCIShapeConfig{OCPUs: 4, MemoryInGBs: 64},
		SubnetOCID: "ocid1.subnet.oc1.iad.aaaa", BootVolumeSizeGB: 80,
		BaseImageOS: "Canonical Ubuntu", BaseImageOSVersion: "24.04", SSHUsername: "ubuntu",
	}
}

func defaultAlibaba() *Alibaba {
	return &Alibaba{
		Region: "cn-hangzhou", InstanceType: "ecs.g6.xlarge", SystemDiskSizeGB: 80,
		SystemDiskCategory: "cloud_essd", SourceImageFamily: "acs:ubuntu_24_04_x64", SSHUsername: "root",
	}
}

func defaultQEMU() *QEMU {
	return &QEMU{
		BaseImage: ".cache/base/debian-12-base.qcow2", BaseImageChecksum: "none", DiskSizeGB: 10,
		MemoryMB: 2048, CPUs: 2, Accelerator: "auto", SSHUsername: "sindri", OutputDir: ".cache/images",
	}
}

func defaultConfig(file string, clouds CloudSet) *Config {
	return &Config{
		Name: "sindri", Version: "3.0.0", Provider: "packer", File: file,
		Packer: Packer{Clouds: clouds, Build: defaultBuild()},
	}
}

// goodConfigs is what each testdata/ok file decodes to, by file name.
var goodConfigs = map[string]func(file string) *Config{
	"single-aws": func(f string) *Config { return defaultConfig(f, CloudSet{AWS: defaultAWS()}) },
	"single-azure": func(f string) *Config {
		return defaultConfig(f, CloudSet{Azure: defaultAzure()})
	},
	"single-gcp":     func(f string) *Config { return defaultConfig(f, CloudSet{GCP: defaultGCP()}) },
	"single-oci":     func(f string) *Config { return defaultConfig(f, CloudSet{OCI: defaultOCI()}) },
	"single-alibaba": func(f string) *Config { return defaultConfig(f, CloudSet{Alibaba: defaultAlibaba()}) },
	"single-qemu":    func(f string) *Config { return defaultConfig(f, CloudSet{QEMU: defaultQEMU()}) },
	"null-blocks": func(f string) *Config {
		return defaultConfig(f, CloudSet{AWS: defaultAWS(), Alibaba: defaultAlibaba(), QEMU: defaultQEMU()})
	},
	"null-nested": func(f string) *Config { return defaultConfig(f, CloudSet{OCI: defaultOCI()}) },
	"env": func(f string) *Config {
		aws := defaultAWS()
		aws.Region = "eu-central-1"
		aws.InstanceType = "t3.xlarge"
		aws.VolumeSize = 120
		aws.EncryptBoot = false
		aws.KMSKeyID = "alias/default"
		aws.Tags = map[string]string{"Price": "$5 per hour", "Literal": "${NOT_EXPANDED}", "Dollar": "a$b"}
		c := defaultConfig(f, CloudSet{AWS: aws})
		c.Name = "env-test"
		c.Packer.Build.Description = "costs $$ ()"
		return c
	},
	"explicit-false": func(f string) *Config {
		aws, gcp := defaultAWS(), defaultGCP()
		aws.EncryptBoot = false
		gcp.EnableSecureBoot = false
		c := defaultConfig(f, CloudSet{AWS: aws, GCP: gcp})
		c.Packer.Build.Cache = false
		c.Packer.Build.Security = Security{}
		return c
	},
	"anchors": func(f string) *Config {
		aws := defaultAWS()
		aws.Region = "us-east-1"
		aws.AMIRegions = []string{"us-east-1", "us-west-2"}
		aws.Tags = map[string]string{"Team": "platform"}
		c := defaultConfig(f, CloudSet{AWS: aws})
		c.Packer.Build.Extensions = []string{"python", "node"}
		return c
	},
	"yaml-ints": func(f string) *Config {
		q := defaultQEMU()
		q.MemoryMB, q.CPUs, q.DiskSizeGB = 4096, 8, 10
		return defaultConfig(f, CloudSet{QEMU: q})
	},
	"multi-all": func(f string) *Config {
		return &Config{
			Name: "multi-env", Version: "3.0.0", Provider: "packer", File: f,
			Packer: Packer{
				Clouds: CloudSet{
					AWS: &AWS{
						Region: "eu-west-1", InstanceType: "m6i.xlarge", VolumeSize: 100, VolumeType: "io2",
						EncryptBoot: true, KMSKeyID: "alias/sindri", VPCID: "vpc-0123abcd", SubnetID: "subnet-0123abcd",
						AMIRegions: []string{"eu-central-1", "us-east-1"}, AMIUsers: []string{"111122223333"},
						SourceAMI: "ami-0123abcd", SSHUsername: "ec2-user",
						Tags: map[string]string{"Team": "platform", "cost-center": "42"},
					},
					Azure: &Azure{
						SubscriptionID: "00000000-0000-0000-0000-000000000000", ResourceGroup: "Sindri_RG-1",
						Location: "westeurope", VMSize: "Standard_D8s_v4", OSDiskSizeGB: 128,
						StorageAccountType: "Standard_LRS", ImagePublisher: "Canonical",
						ImageOffer: "ubuntu-24_04-lts", ImageSKU: "server-gen1", SSHUsername: "azureuser",
						Gallery: &AzureGallery{
							GalleryName: "sindri_gallery", ImageName: "sindri-dev", ImageVersion: "1.2.3",
							ResourceGroup: "gallery-rg", ReplicationRegions: []string{"westus2", "eastus"},
						},
						Tags: map[string]string{"Team": "platform"},
					},
					GCP: &GCP{
						ProjectID: "my-project-123", Zone: "europe-west4-a", MachineType: "n2-standard-8",
						DiskSize: 200, DiskType: "pd-balanced", EnableSecureBoot: false, Network: "default",
						Subnetwork: "projects/p/regions/r/subnetworks/s", SourceImageFamily: "ubuntu-2204-lts",
						SourceImageProject: "ubuntu-os-cloud", SSHUsername: "packer",
						Labels: map[string]string{"team": "platform", "env": "dev"},
					},
					OCI: &OCI{
						CompartmentOCID: "ocid1.compartment.oc1..aaaa", AvailabilityDomain: "Uocm:EU-FRANKFURT-1-AD-1",
						Region: "eu-frankfurt-1", Shape: "VM.Standard.A1.Flex",
						ShapeConfig: OCIShapeConfig{OCPUs: 2, MemoryInGBs: 16},
						SubnetOCID:  "ocid1.subnet.oc1.eu-frankfurt-1.aaaa", BootVolumeSizeGB: 100,
						BaseImageOS: "Canonical Ubuntu", BaseImageOSVersion: "22.04", SSHUsername: "opc",
						Tags: map[string]string{"Team": "platform"},
					},
					Alibaba: &Alibaba{
						Region: "cn-shanghai", InstanceType: "ecs.g7.large", SystemDiskSizeGB: 60,
						SystemDiskCategory: "cloud_auto", VSwitchID: "vsw-0123abcd",
						SourceImage: "ubuntu_22_04_x64_20G_alibase_20240101.vhd", SourceImageFamily: "acs:ubuntu_22_04_x64",
						SSHUsername: "root",
						Tags:        map[string]string{"Team": "platform"},
					},
					QEMU: &QEMU{
						BaseImage:         "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2",
						BaseImageChecksum: "file:https://cloud.debian.org/images/cloud/bookworm/latest/SHA512SUMS",
						DiskSizeGB:        20, MemoryMB: 4096, CPUs: 4, Accelerator: "tcg", SSHUsername: "dev",
						OutputDir: "/var/lib/sindri/images",
					},
				},
				Build: Build{
					Extensions: []string{"python", "node", "claude-code", "go1.22"}, Profile: "fullstack",
					SindriVersion: "v3.0.1", SindriReleaseURL: "https://mirror.example.com/sindri",
					SindriSHA256:  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
					SindriArchive: "files/motd", Cache: false, NamePrefix: "team-dev", ImageFamily: "team-dev",
					Description: "Team image", SSHTimeout: "1h30m",
					Environment: map[string]string{"HTTP_PROXY": "http://proxy:3128", "_X": "1"},
					FileUploads: []FileUpload{
						{Source: "files/motd", Destination: "/etc/motd"},
						{Source: "files/site.yml", Destination: "/opt/site.yml"},
					},
					AnsiblePlaybook: "files/site.yml",
					Security:        Security{OpenSCAPScan: true},
				},
			},
		}
	},
}

// TestGoodConfigs loads every testdata/ok file and compares the whole
// decoded value, defaults included.
func TestGoodConfigs(t *testing.T) {
	tests := goodConfigs
	files, err := filepath.Glob(filepath.Join("testdata", "ok", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(tests) {
		t.Errorf("testdata/ok has %d files, the table %d: keep them in step", len(files), len(tests))
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			want, ok := tests[name]
			if !ok {
				t.Fatalf("no expectation for %s", file)
			}
			cfg, err := Load(file, testOptions())
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			w := want(file)
			// The form is recorded: single-cloud files name packer.cloud.
			data, _ := os.ReadFile(file)
			w.Packer.SingleCloud = strings.Contains(string(data), "\n  cloud: ")
			if diff := cmp.Diff(w, cfg); diff != "" {
				t.Errorf("decoded config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSelected(t *testing.T) {
	cfg, err := Load(filepath.Join("testdata", "ok", "null-blocks.yaml"), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.Selected(), []string{"aws", "alibaba", "qemu"}; !cmp.Equal(got, want) {
		t.Errorf("Selected() = %v, want %v (canonical order)", got, want)
	}
}

func TestCloudSetHasAndImageID(t *testing.T) {
	set := CloudSet{
		AWS: &AWS{Common: Common{ImageID: "ami-1"}}, Azure: &Azure{Common: Common{ImageID: "az-1"}},
		GCP: &GCP{Common: Common{ImageID: "gcp-1"}}, OCI: &OCI{Common: Common{ImageID: "oci-1"}},
		Alibaba: &Alibaba{Common: Common{ImageID: "m-1"}}, QEMU: &QEMU{Common: Common{ImageID: "q-1"}},
	}
	want := map[string]string{"aws": "ami-1", "azure": "az-1", "gcp": "gcp-1", "oci": "oci-1", "alibaba": "m-1", "qemu": "q-1"}
	for _, name := range Clouds {
		if !set.Has(name) {
			t.Errorf("Has(%q) = false", name)
		}
		if got := set.ImageID(name); got != want[name] {
			t.Errorf("ImageID(%q) = %q, want %q", name, got, want[name])
		}
		if (&CloudSet{}).Has(name) || (&CloudSet{}).ImageID(name) != "" {
			t.Errorf("empty set claims %s", name)
		}
	}
	if set.Has("vsphere") || set.ImageID("vsphere") != "" {
		t.Error("unknown cloud reported as present")
	}
}

func TestFieldPath(t *testing.T) {
	single := &Packer{SingleCloud: true}
	multi := &Packer{}
	if got := single.FieldPath("aws", "region"); got != "packer.region" {
		t.Errorf("single-cloud form: %s", got)
	}
	if got := multi.FieldPath("aws", "region"); got != "packer.clouds.aws.region" {
		t.Errorf("multi-cloud form: %s", got)
	}
}
