// Package config is the sindri.yaml model: strict decoding with positions,
// defaults, ${ENV} expansion, validation, the JSON Schema and the documented
// files that `init` writes.
//
// Struct tags drive decoding, defaults, validation and the schema together,
// so the three cannot drift apart:
//
//	yaml:"name"        key in the file (",inline" embeds a struct)
//	doc:"..."          one-line description (schema and errors)
//	default:"v"        value when the key is absent
//	required:"true"    must be present (and non-empty)
//	min:"n" max:"n"    integer bounds
//	enum:"a,b,c"       allowed string values
//	pattern:"name"     a named regular expression from patterns
//	split:"true"       a list that may also be written as one string "a,b"
//	var:"true"         also a Packer variable of the same name in the rendered
//	                   template, this value its default (packer build -var NAME=...)
package config

import "reflect"

// Clouds is every target this tool can build for, in the order used for
// output: CloudSet's keys, in field order (the local qemu target last).
var Clouds = cloudNames()

// Config is one sindri.yaml.
type Config struct {
	Name     string `yaml:"name" doc:"name of this environment" default:"sindri" pattern:"label"`
	Version  string `yaml:"version" doc:"configuration format version" default:"3.0.0"`
	Provider string `yaml:"provider" doc:"must be packer" default:"packer" enum:"packer"`
	Packer   Packer `yaml:"packer" doc:"image build settings" required:"true"`

	// File is the path the configuration was read from ("" when built in code).
	File string `yaml:"-"`
}

// Packer is the packer: section. The file may use the single-cloud form
// (cloud: aws plus that cloud's fields inline) or the multi-cloud form
// (clouds: {aws: {...}, gcp: {...}}); both decode into Clouds.
type Packer struct {
	Clouds CloudSet `yaml:"clouds" doc:"one block per target cloud (multi-cloud form); the single-cloud form writes cloud: NAME and that cloud's fields directly under packer:"`
	Build  Build    `yaml:"build" doc:"how the image is built; shared by every cloud"`

	// SingleCloud records that the file used the single-cloud form, so
	// paths for --set can be written the way the file spells them.
	SingleCloud bool `yaml:"-"`
}

// FieldPath returns the --set path of a cloud's field in this file's form,
// e.g. packer.region or packer.clouds.aws.region.
func (p *Packer) FieldPath(cloud, field string) string {
	if p.SingleCloud {
		return "packer." + field
	}
	return "packer.clouds." + cloud + "." + field
}

// CloudSet holds one optional block per target.
type CloudSet struct {
	AWS     *AWS     `yaml:"aws" doc:"Amazon EC2 (amazon-ebs builder)"`
	Azure   *Azure   `yaml:"azure" doc:"Microsoft Azure (azure-arm builder)"`
	GCP     *GCP     `yaml:"gcp" doc:"Google Compute Engine (googlecompute builder)"`
	OCI     *OCI     `yaml:"oci" doc:"Oracle Cloud Infrastructure (oracle-oci builder)"`
	Alibaba *Alibaba `yaml:"alibaba" doc:"Alibaba Cloud ECS (alicloud-ecs builder)"`
	QEMU    *QEMU    `yaml:"qemu" doc:"local QEMU/KVM image, no cloud account needed"`
}

// Common holds the fields every cloud block accepts.
type Common struct {
	ImageID string `yaml:"image_id" doc:"use this existing image and skip the build"`
}

// AWS is the amazon-ebs target.
type AWS struct {
	Common       `yaml:",inline"`
	Region       string            `yaml:"region" doc:"region to build in" default:"us-west-2" pattern:"region" var:"true"`
	InstanceType string            `yaml:"instance_type" doc:"EC2 instance type used for the build" default:"t3.large" pattern:"machine" var:"true"`
	VolumeSize   int               `yaml:"volume_size" doc:"root EBS volume size in GB" default:"80" min:"8" max:"16384"`
	VolumeType   string            `yaml:"volume_type" doc:"root EBS volume type" default:"gp3" enum:"gp3,gp2,io1,io2,standard"`
	EncryptBoot  bool              `yaml:"encrypt_boot" doc:"encrypt the AMI's EBS snapshots with KMS" default:"true"`
	KMSKeyID     string            `yaml:"kms_key_id" doc:"KMS key for encrypt_boot (default: the AWS managed key)"`
	VPCID        string            `yaml:"vpc_id" doc:"VPC to build in (default VPC when empty)" pattern:"resid"`
	SubnetID     string            `yaml:"subnet_id" doc:"subnet to build in" pattern:"resid"`
	AMIRegions   []string          `yaml:"ami_regions" doc:"extra regions to copy the AMI to" pattern:"region"`
	AMIUsers     []string          `yaml:"ami_users" doc:"AWS account IDs the AMI is shared with (private otherwise)" pattern:"account"`
	SourceAMI    string            `yaml:"source_ami" doc:"base AMI ID (default: newest Canonical Ubuntu 24.04 noble)" pattern:"resid"`
	SSHUsername  string            `yaml:"ssh_username" doc:"login user of the base image" default:"ubuntu" pattern:"user"`
	Tags         map[string]string `yaml:"tags" doc:"tags applied to the instance, volumes, snapshots and AMI"`
}

// Azure is the azure-arm target.
type Azure struct {
	Common             `yaml:",inline"`
	SubscriptionID     string            `yaml:"subscription_id" doc:"Azure subscription ID" required:"true"`
	ResourceGroup      string            `yaml:"resource_group" doc:"resource group that receives the managed image" required:"true" pattern:"resourcegroup"`
	Location           string            `yaml:"location" doc:"Azure region" default:"westus2" pattern:"region" var:"true"`
	VMSize             string            `yaml:"vm_size" doc:"VM size used for the build" default:"Standard_D4s_v4" pattern:"machine" var:"true"`
	OSDiskSizeGB       int               `yaml:"os_disk_size_gb" doc:"OS disk size in GB" default:"80" min:"30" max:"4095"`
	StorageAccountType string            `yaml:"storage_account_type" doc:"storage SKU of the managed image (the azure plugin accepts only these two)" default:"Premium_LRS" enum:"Premium_LRS,Standard_LRS"`
	ImagePublisher     string            `yaml:"image_publisher" doc:"base image publisher" default:"Canonical"`
	ImageOffer         string            `yaml:"image_offer" doc:"base image offer" default:"ubuntu-24_04-lts"`
	ImageSKU           string            `yaml:"image_sku" doc:"base image SKU" default:"server"`
	SSHUsername        string            `yaml:"ssh_username" doc:"login user created on the build VM" default:"packer" pattern:"user"`
	Gallery            *AzureGallery     `yaml:"gallery" doc:"also publish to an Azure Compute Gallery (Shared Image Gallery)"`
	Tags               map[string]string `yaml:"tags" doc:"tags applied to the build resources and the image"`
}

// AzureGallery is the optional shared_image_gallery_destination.
type AzureGallery struct {
	GalleryName        string   `yaml:"gallery_name" doc:"gallery name" required:"true" pattern:"gallery"`
	ImageName          string   `yaml:"image_name" doc:"image definition inside the gallery" required:"true" pattern:"label"`
	ImageVersion       string   `yaml:"image_version" doc:"image version, MAJOR.MINOR.PATCH" required:"true" pattern:"semver"`
	ResourceGroup      string   `yaml:"resource_group" doc:"resource group of the gallery (default: resource_group)" pattern:"resourcegroup"`
	ReplicationRegions []string `yaml:"replication_regions" doc:"regions the version is replicated to" pattern:"region"`
}

// GCP is the googlecompute target.
type GCP struct {
	Common             `yaml:",inline"`
	ProjectID          string            `yaml:"project_id" doc:"GCP project ID" required:"true" pattern:"gcpproject" var:"true"`
	Zone               string            `yaml:"zone" doc:"zone to build in" default:"us-west1-a" pattern:"region" var:"true"`
	MachineType        string            `yaml:"machine_type" doc:"machine type used for the build" default:"e2-standard-4" pattern:"machine" var:"true"`
	DiskSize           int               `yaml:"disk_size" doc:"boot disk size in GB" default:"80" min:"10" max:"65536"`
	DiskType           string            `yaml:"disk_type" doc:"boot disk type" default:"pd-ssd" enum:"pd-ssd,pd-balanced,pd-standard,pd-extreme,hyperdisk-balanced"`
	EnableSecureBoot   bool              `yaml:"enable_secure_boot" doc:"Shielded VM secure boot on the image" default:"true"`
	Network            string            `yaml:"network" doc:"VPC network (default network when empty)"`
	Subnetwork         string            `yaml:"subnetwork" doc:"subnetwork, required for custom-mode networks"`
	SourceImageFamily  string            `yaml:"source_image_family" doc:"base image family" default:"ubuntu-2404-lts-amd64" pattern:"label"`
	SourceImageProject string            `yaml:"source_image_project" doc:"project of the base image family" default:"ubuntu-os-cloud" pattern:"gcpproject"`
	SSHUsername        string            `yaml:"ssh_username" doc:"login user created on the build VM" default:"packer" pattern:"user"`
	Labels             map[string]string `yaml:"labels" doc:"labels on the image (lower-case, at most 63 characters)"`
}

// OCI is the oracle-oci target.
type OCI struct {
	Common             `yaml:",inline"`
	CompartmentOCID    string            `yaml:"compartment_ocid" doc:"compartment that receives the image" required:"true" pattern:"ocid" var:"true"`
	AvailabilityDomain string            `yaml:"availability_domain" doc:"availability domain, e.g. Uocm:US-ASHBURN-AD-1" required:"true"`
	Region             string            `yaml:"region" doc:"region (default: from the OCI config file)" pattern:"region" var:"true"`
	Shape              string            `yaml:"shape" doc:"compute shape" default:"VM.Standard.E4.Flex" pattern:"machine" var:"true"`
	ShapeConfig        OCIShapeConfig    `yaml:"shape_config" doc:"OCPUs and memory of a flexible shape"`
	SubnetOCID         string            `yaml:"subnet_ocid" doc:"subnet of the build instance's VNIC" required:"true" pattern:"ocid"`
	BootVolumeSizeGB   int               `yaml:"boot_volume_size_gb" doc:"boot volume size in GB" default:"80" min:"50" max:"32768"`
	BaseImageOS        string            `yaml:"base_image_os" doc:"base image operating system" default:"Canonical Ubuntu"`
	BaseImageOSVersion string            `yaml:"base_image_os_version" doc:"base image operating system version" default:"24.04"`
	SSHUsername        string            `yaml:"ssh_username" doc:"login user of the base image" default:"ubuntu" pattern:"user"`
	Tags               map[string]string `yaml:"tags" doc:"freeform tags on the instance and image"`
}

// OCIShapeConfig sizes a flexible shape.
type OCIShapeConfig struct {
	OCPUs       int `yaml:"ocpus" doc:"OCPUs" default:"4" min:"1" max:"128"`
	MemoryInGBs int `yaml:"memory_in_gbs" doc:"memory in GB" default:"64" min:"1" max:"2048"`
}

// Alibaba is the alicloud-ecs target.
type Alibaba struct {
	Common             `yaml:",inline"`
	Region             string            `yaml:"region" doc:"region ID" default:"cn-hangzhou" pattern:"region" var:"true"`
	InstanceType       string            `yaml:"instance_type" doc:"ECS instance type used for the build" default:"ecs.g6.xlarge" pattern:"machine" var:"true"`
	SystemDiskSizeGB   int               `yaml:"system_disk_size_gb" doc:"system disk size in GB" default:"80" min:"20" max:"2048"`
	SystemDiskCategory string            `yaml:"system_disk_category" doc:"system disk category" default:"cloud_essd" enum:"cloud_essd,cloud_ssd,cloud_efficiency,cloud_auto"`
	VSwitchID          string            `yaml:"vswitch_id" doc:"VSwitch of the build instance (default: a temporary VPC)" pattern:"resid" launch:"required"`
	SourceImage        string            `yaml:"source_image" doc:"base image ID (default: the newest image of source_image_family)"`
	SourceImageFamily  string            `yaml:"source_image_family" doc:"base image family" default:"acs:ubuntu_24_04_x64"`
	SSHUsername        string            `yaml:"ssh_username" doc:"login user of the base image" default:"root" pattern:"user"`
	Tags               map[string]string `yaml:"tags" doc:"tags on the instance and image"`
}

// QEMU is the local target.
type QEMU struct {
	Common            `yaml:",inline"`
	BaseImage         string `yaml:"base_image" doc:"base qcow2 image: a URL or a local path (relative to this file)" default:".cache/base/debian-12-base.qcow2"`
	BaseImageChecksum string `yaml:"base_image_checksum" doc:"checksum of the base image: sha256:HEX, file:URL, or none" default:"none" pattern:"checksum"`
	DiskSizeGB        int    `yaml:"disk_size_gb" doc:"disk size of the built image in GB" default:"10" min:"2" max:"2048"`
	MemoryMB          int    `yaml:"memory_mb" doc:"guest memory in MB" default:"2048" min:"256" max:"262144"`
	CPUs              int    `yaml:"cpus" doc:"guest CPUs" default:"2" min:"1" max:"64"`
	Accelerator       string `yaml:"accelerator" doc:"kvm, tcg, or auto (kvm when it works, else tcg)" default:"auto" enum:"auto,kvm,tcg"`
	SSHUsername       string `yaml:"ssh_username" doc:"login user the cloud-init seed creates" default:"sindri" pattern:"user"`
	OutputDir         string `yaml:"output_dir" doc:"local image store (relative to this file)" default:".cache/images" imageid:"built images are named by their path inside it, which becomes a step output"`
}

// Build is shared by every cloud.
type Build struct {
	Extensions       []string          `yaml:"extensions" doc:"Sindri extensions to pre-install (Sindri v3 names such as nodejs, golang, jvm); a list, or one string \"a,b\"" pattern:"name" split:"true"`
	Profile          string            `yaml:"profile" doc:"Sindri profile to install (minimal, fullstack, anthropic-dev, systems, enterprise, devops, mobile)" pattern:"name"`
	SindriVersion    string            `yaml:"sindri_version" doc:"Sindri release to install; latest is resolved to a concrete release before building" default:"latest" pattern:"version"`
	SindriReleaseURL string            `yaml:"sindri_release_url" doc:"base URL of Sindri release archives" default:"https://github.com/pacphi/sindri/releases/download" pattern:"url"`
	SindriSHA256     string            `yaml:"sindri_sha256" doc:"expected sha256 of the Sindri archive (default: the .sha256 file published beside it)" pattern:"sha256"`
	SindriArchive    string            `yaml:"sindri_archive" doc:"local Sindri archive uploaded instead of downloading (relative to this file)"`
	Cache            bool              `yaml:"cache" doc:"reuse an image whose config hash matches instead of building" default:"true"`
	NamePrefix       string            `yaml:"name_prefix" doc:"prefix of image names" default:"sindri" pattern:"label"`
	ImageFamily      string            `yaml:"image_family" doc:"image family (GCP) / image definition hint" pattern:"label"`
	Description      string            `yaml:"description" doc:"image description"`
	SSHTimeout       string            `yaml:"ssh_timeout" doc:"how long Packer waits for SSH" default:"20m" pattern:"duration"`
	Environment      map[string]string `yaml:"environment" doc:"extra environment variables for the provisioning scripts"`
	FileUploads      []FileUpload      `yaml:"file_uploads" doc:"files copied into the image before provisioning"`
	AnsiblePlaybook  string            `yaml:"ansible_playbook" doc:"Ansible playbook run inside the image after the Sindri install (relative to this file)"`
	Scripts          []string          `yaml:"scripts" doc:"your own shell scripts (relative to this file), uploaded and run as root in order after Sindri, its extensions and the Ansible playbook, before hardening" split:"true"`
	ChecksumTypes    []string          `yaml:"checksum_types" doc:"checksums of the build's local artifacts (the qemu qcow2) that Packer's checksum post-processor writes beside sindri.yaml, e.g. [sha256]" enum:"md5,sha1,sha224,sha256,sha384,sha512" split:"true"`
	Security         Security          `yaml:"security" doc:"hardening and clean-up"`
}

// FileUpload copies a local file or folder into the image.
type FileUpload struct {
	Source      string `yaml:"source" doc:"local file (relative to this file); folders are refused, upload an archive" required:"true"`
	Destination string `yaml:"destination" doc:"absolute path inside the image" required:"true" pattern:"abspath"`
}

// Security controls hardening and clean-up.
type Security struct {
	CISHardening       bool `yaml:"cis_hardening" doc:"apply CIS-style hardening (sshd, sysctl, auditd, ufw, permissions, banners)" default:"true"`
	OpenSCAPScan       bool `yaml:"openscap_scan" doc:"run an OpenSCAP CIS scan and keep its report in the image" default:"false"`
	CleanSensitiveData bool `yaml:"clean_sensitive_data" doc:"remove logs, histories and temporary files before capture" default:"true"`
	RemoveSSHKeys      bool `yaml:"remove_ssh_keys" doc:"remove SSH host keys and authorized_keys before capture" default:"true"`
}

// Selected returns the names of the configured clouds in canonical order.
func (c *Config) Selected() []string {
	var out []string
	for _, name := range Clouds {
		if c.Packer.Clouds.Has(name) {
			out = append(out, name)
		}
	}
	return out
}

// Block is one cloud's section of the configuration (*AWS, *GCP, ...).
type Block interface{ common() *Common }

func (c *Common) common() *Common { return c }

// Block returns the named cloud's section, nil when the set has none. The
// names are CloudSet's yaml keys: the struct is the one table of clouds.
func (s *CloudSet) Block(name string) Block {
	for _, f := range fieldsOf(reflect.TypeOf(*s)) {
		if f.key != name {
			continue
		}
		if v := reflect.ValueOf(s).Elem().FieldByIndex(f.index); !v.IsNil() {
			return v.Interface().(Block)
		}
	}
	return nil
}

// Has reports whether the set has a block for the named cloud.
func (s *CloudSet) Has(name string) bool { return s.Block(name) != nil }

// ImageID returns the configured existing image of a cloud, if any.
func (s *CloudSet) ImageID(name string) string {
	if b := s.Block(name); b != nil {
		return b.common().ImageID
	}
	return ""
}

// cloudNames lists CloudSet's keys in field order.
func cloudNames() []string {
	return keysOf(fieldsOf(reflect.TypeOf(CloudSet{})))
}
