# frozen_string_literal: true

# Image hygiene: cleanup.sh removed everything that belonged to the build VM
# (host keys, authorized_keys, machine-id, cloud-init instance state, shell
# histories, uploaded archives and Packer's files). The instance under test
# booted from the image with a new cloud-init seed, so several of these exist
# again; each check asks whether what exists now belongs to THIS instance.
#
# These controls assume the defaults security.remove_ssh_keys: true and
# security.clean_sensitive_data: true (the profile has no inputs for them).

require 'shellwords'

login_user = input('ssh_user').to_s
login_home = user(login_user).home.to_s
login_home = "/home/#{login_user}" if login_home.empty?
install_record = '/usr/local/share/sindri-packer/sindri.install'
sindri_bin = '/usr/local/bin/sindri'
regen_unit = '/etc/systemd/system/sindri-regenerate-host-keys.service'

# Root for shell checks: with --sudo InSpec already runs every command through
# sudo (id -u prints 0); without it, the login user's passwordless sudo is used.
root_prefix = command('id -u').stdout.to_s.strip == '0' ? '' : 'sudo -n '
sys_path = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH; '
as_root = lambda do |script|
  command("#{root_prefix}sh -c #{Shellwords.escape(sys_path + script)}")
end
lines_of = ->(script) { as_root.call(script).stdout.to_s.split("\n").map(&:strip).reject(&:empty?) }
# Every home cleanup.sh cleaned: root, /home/*, and the login user's home
# (SINDRI_USER) wherever it is. Used inside shell scripts as "$h".
homes_sh = "for h in /root /home/* #{Shellwords.escape(login_home)}; do [ -d \"$h\" ] || continue; "

# authorized_keys parsing: an entry is [options] keytype base64 [comment];
# the key itself (base64 blob) identifies it.
key_entries = ->(text) { text.to_s.lines.map(&:strip).reject { |l| l.empty? || l.start_with?('#') } }
key_blob = lambda do |entry|
  m = entry.match(%r{(?:\A|\s)(?:ssh|ecdsa|sk)-[A-Za-z0-9@.-]+\s+([A-Za-z0-9+/]+={0,3})(?=\s|\z)})
  m ? m[1] : nil
end

control 'sindri-hygiene-01' do
  impact 1.0
  title 'SSH host keys were generated on this instance, not baked into the image'
  desc 'cleanup.sh deletes /etc/ssh/ssh_host_* at the end of the build; cloud-init (ssh_deletekeys) or ' \
       'sindri-regenerate-host-keys.service creates new keys when an instance first boots. The build VM\'s keys ' \
       "were created at its first boot, before install-sindri.sh wrote #{install_record}, so every host key " \
       'file must be newer than that record (or, without it, than /usr/local/bin/sindri). A key file older ' \
       'than the Sindri install is a key shared by every VM made from the image.'
  ref = [install_record, sindri_bin].map { |f| [f, lines_of.call("stat -c %Y -- #{Shellwords.escape(f)} 2>/dev/null").first] }
                                    .find { |_, t| t.to_s =~ /\A\d+\z/ }
  describe "build reference time (mtime of #{install_record} or #{sindri_bin})" do
    subject { ref }
    it { should_not be_nil }
  end
  keys = lines_of.call("find /etc/ssh -maxdepth 1 -type f -name 'ssh_host_*' -printf '%T@ %p\\n'")
                 .map { |l| t, p = l.split(' ', 2); [p, t.to_f] }.sort
  describe 'SSH host key files in /etc/ssh' do
    subject { keys.map(&:first) }
    it { should_not be_empty }
  end
  next if ref.nil?

  built = Time.at(ref[1].to_i).utc
  keys.each do |path, mtime|
    describe "modification time of #{path}" do
      subject { Time.at(mtime).utc }
      it { should be > built }
    end
  end
end

control 'sindri-hygiene-02' do
  impact 0.5
  title 'Host keys are regenerated at first boot even without cloud-init'
  desc "cleanup.sh installs and enables #{regen_unit}, which runs `ssh-keygen -A` at boot when " \
       '/etc/ssh/ssh_host_ed25519_key is missing (after cloud-init, before ssh). It does nothing when cloud-init ' \
       'already made keys, so only its presence and enablement are checked.'
  describe file(regen_unit) do
    it { should be_file }
    its('content') { should match(%r{^ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key$}) }
    its('content') { should match(%r{^ExecStart=/usr/bin/ssh-keygen -A$}) }
  end
  describe 'systemctl is-enabled sindri-regenerate-host-keys.service' do
    subject { as_root.call('systemctl is-enabled sindri-regenerate-host-keys.service').stdout.to_s.strip }
    it { should eq 'enabled' }
  end
end

control 'sindri-hygiene-03' do
  impact 1.0
  title 'The only authorized SSH key is the one-off test key'
  desc 'cleanup.sh removes authorized_keys and authorized_keys2 of root, /home/* and the login user. The test ' \
       "instance's cloud-init seed authorizes exactly one one-off key for #{login_user}, so that user's " \
       'authorized_keys must hold exactly one key, and no authorized_keys file anywhere (root, /home/*) may ' \
       'hold any other key. root may only carry the same key as cloud-init\'s disable_root stub (an entry ' \
       'with a forced command that refuses the login); any other root entry fails.'
  own_file = File.join(login_home, '.ssh', 'authorized_keys')
  own = key_entries.call(as_root.call("cat -- #{Shellwords.escape(own_file)} 2>/dev/null").stdout)
  test_key = own.size == 1 ? key_blob.call(own.first) : nil
  describe "keys in #{own_file}" do
    subject { own.size }
    it { should eq 1 }
  end
  describe "the key in #{own_file}" do
    subject { test_key }
    it { should_not be_nil }
  end
  files = lines_of.call("find /root /home #{Shellwords.escape(login_home)} -maxdepth 3 -type f " \
                        "-path '*/.ssh/authorized_keys*' 2>/dev/null | sort -u")
  foreign = []
  root_logins = []
  files.each do |f|
    key_entries.call(as_root.call("cat -- #{Shellwords.escape(f)}").stdout).each_with_index do |entry, i|
      blob = key_blob.call(entry)
      foreign << "#{f} entry #{i + 1}" if blob.nil? || blob != test_key
      root_logins << "#{f} entry #{i + 1}" if f.start_with?('/root/') && entry !~ /(?:\A|,)command="/
    end
  end
  describe 'authorized_keys entries other than the one-off test key' do
    subject { foreign }
    it { should be_empty }
  end
  describe "root's authorized_keys entries that do not force a refusing command" do
    subject { root_logins }
    it { should be_empty }
  end
end

control 'sindri-hygiene-04' do
  impact 0.7
  title 'The machine-id was generated for this instance'
  desc 'cleanup.sh empties /etc/machine-id (and links /var/lib/dbus/machine-id to it) so systemd generates a new ' \
       'one at first boot. The build\'s machine-id is not recorded anywhere on the image, so "differs from the ' \
       'build" is checked through what systemd logs when it generates an ID: "Initializing machine ID from ..." ' \
       'appears in this boot\'s journal (or the kernel log) only when /etc/machine-id was empty at boot.'
  describe file('/etc/machine-id') do
    it { should be_file }
    its('content') { should match(/\A\h{32}\n?\z/) }
  end
  describe "systemd's machine-id generation in this boot's log" do
    subject do
      as_root.call("{ journalctl -b 0 --no-pager -o cat 2>/dev/null; dmesg 2>/dev/null; } | " \
                   "grep -m1 'Initializing machine ID from'").stdout.to_s.strip
    end
    it { should match(/Initializing machine ID from/) }
  end
  if file('/var/lib/dbus').directory?
    describe file('/var/lib/dbus/machine-id') do
      it { should be_symlink }
      its('link_path') { should eq '/etc/machine-id' }
    end
  end
end

control 'sindri-hygiene-05' do
  impact 0.7
  title 'cloud-init holds state only for this instance'
  desc 'cleanup.sh runs `cloud-init clean --logs --seed`, so /var/lib/cloud/instances may only hold the instance ' \
       'cloud-init set up at this boot (data/instance-id, `cloud-init query instance_id`), and cloud-init must ' \
       'have found no previous instance (previous-instance-id and "previous iid found to be ..." in ' \
       'cloud-init.log are NO_PREVIOUS_INSTANCE_ID or this instance). Without cloud-init there must be no ' \
       'instance state at all.'
  instances = lines_of.call('ls -1A /var/lib/cloud/instances 2>/dev/null')
  unless package('cloud-init').installed?
    describe 'cloud-init instance directories (cloud-init not installed)' do
      subject { instances }
      it { should be_empty }
    end
    next
  end
  current = lines_of.call('cat /var/lib/cloud/data/instance-id 2>/dev/null').first.to_s
  describe 'current instance id (/var/lib/cloud/data/instance-id)' do
    subject { current }
    it { should_not be_empty }
  end
  queried = as_root.call('cloud-init query instance_id 2>/dev/null')
  if queried.exit_status.to_i.zero? && !queried.stdout.to_s.strip.empty?
    describe '`cloud-init query instance_id`' do
      subject { queried.stdout.to_s.strip }
      it { should eq current }
    end
  end
  describe 'instance directories in /var/lib/cloud/instances' do
    subject { instances }
    it { should eq [current] }
  end
  describe file('/var/lib/cloud/instance') do
    it { should be_symlink }
    its('link_path') { should eq "/var/lib/cloud/instances/#{current}" }
  end
  previous = lines_of.call('cat /var/lib/cloud/data/previous-instance-id 2>/dev/null').first.to_s
  describe 'previous instance id (/var/lib/cloud/data/previous-instance-id)' do
    subject { previous }
    it { should be_in ['NO_PREVIOUS_INSTANCE_ID', current] }
  end
  seen = lines_of.call("grep -ho 'previous iid found to be [^ ]*' /var/log/cloud-init.log 2>/dev/null")
                 .map { |l| l.split.last }.uniq
  describe 'previous instance ids cloud-init reported at this boot (cloud-init.log)' do
    subject { seen - ['NO_PREVIOUS_INSTANCE_ID', current] }
    it { should be_empty }
  end
end

control 'sindri-hygiene-06' do
  impact 0.5
  title 'No shell or tool histories'
  desc 'cleanup.sh removes .bash_history, .zsh_history, .python_history, .sqlite_history, .mysql_history, ' \
       '.psql_history, .lesshst, .viminfo and .wget-hsts of root, /home/* and the login user; nothing on the test ' \
       'instance runs an interactive shell before this check.'
  names = %w[.bash_history .zsh_history .python_history .sqlite_history .mysql_history .psql_history .lesshst .viminfo .wget-hsts]
  found = lines_of.call(homes_sh + "for n in #{names.join(' ')}; do [ -e \"$h/$n\" ] && echo \"$h/$n\"; done; done | sort -u")
  describe 'history files in root\'s and users\' homes' do
    subject { found }
    it { should be_empty }
  end
end

control 'sindri-hygiene-07' do
  impact 1.0
  title 'No cloud or CI credentials in environment files'
  desc 'The build runs with cloud credentials (AWS_*, ARM_*/AZURE_*, GOOGLE_*/CLOUDSDK_*, OCI_*, ALICLOUD_*/' \
       'ALIBABA_CLOUD_*) and CI tokens (GITHUB_*, GH_*, ACTIONS_*, PKR_VAR_*/PACKER_*) in its environment; the ' \
       'scripts receive only their own variables and write none of them to disk. No secret-looking variable ' \
       '(name containing KEY, SECRET, TOKEN, PASSWORD, PASSPHRASE, CREDENTIAL or FINGERPRINT) with one of those ' \
       'prefixes may be set in /etc/environment, /etc/environment.d, /etc/profile(.d), /etc/bash.bashrc or the ' \
       'shell start-up files of root and the users. Only names are reported, never values.'
  # The shell prints FILE:LINE:NAME only; values never leave the instance.
  assignments = lines_of.call(
    'list() { for f in "$@"; do [ -f "$f" ] && echo "$f"; done; }; ' \
    '{ list /etc/environment /etc/profile /etc/bash.bashrc /etc/zsh/zshenv /etc/profile.d/* /etc/environment.d/*; ' +
    homes_sh + 'list "$h/.profile" "$h/.bashrc" "$h/.bash_profile" "$h/.bash_login" "$h/.zshrc" "$h/.zshenv" ' \
    '"$h/.pam_environment" "$h"/.config/environment.d/*; done; } | sort -u | while IFS= read -r f; do ' \
    "grep -HnE '^[[:space:]]*(export[[:space:]]+)?[A-Za-z_][A-Za-z0-9_]*[[:space:]]*=' \"$f\" | " \
    "sed -E 's/^([^:]*:[0-9]+:)[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*).*/\\1\\3/'; done"
  )
  prefix = /\A(?:AWS|ARM|AZURE|GOOGLE|GCP|CLOUDSDK|OCI|ALICLOUD|ALIBABA_CLOUD|GITHUB|GH|ACTIONS|PKR_VAR|PACKER)_/
  secret = /KEY|SECRET|TOKEN|PASSWORD|PASSPHRASE|CREDENTIAL|FINGERPRINT/
  leaks = assignments.select do |l|
    name = l.split(':').last.to_s
    name =~ prefix && name =~ secret
  end
  describe 'credential variables set in environment and shell start-up files' do
    subject { leaks }
    it { should be_empty }
  end
end

control 'sindri-hygiene-08' do
  impact 1.0
  title 'No credential files of the build environment in any home'
  desc 'No cloud CLI credentials or tokens (~/.aws/credentials and SSO/CLI caches, Azure CLI token caches, ' \
       'gcloud credentials, ~/.oci/config, ~/.aliyun/config.json), git/GitHub/netrc credentials, Docker registry ' \
       'auth or SSH private keys in the homes of root, /home/* and the login user. (A ~/.azure directory alone ' \
       'is accepted: the Azure CLI creates it with non-secret files on first run, e.g. when an extension ' \
       'validates itself.)'
  paths = %w[
    .aws/credentials .aws/sso/cache .aws/cli/cache
    .azure/accessTokens.json .azure/msal_token_cache.json .azure/msal_token_cache.bin
    .azure/service_principal_entries.json .azure/service_principal_entries.bin
    .config/gcloud/credentials.db .config/gcloud/access_tokens.db
    .config/gcloud/application_default_credentials.json .config/gcloud/legacy_credentials
    .oci/config .aliyun/config.json
    .git-credentials .netrc .config/gh/hosts.yml
    .ssh/id_rsa .ssh/id_dsa .ssh/id_ecdsa .ssh/id_ed25519 .ssh/id_ecdsa_sk .ssh/id_ed25519_sk
  ]
  found = lines_of.call(
    homes_sh + "for p in #{paths.join(' ')}; do [ -e \"$h/$p\" ] && echo \"$h/$p\"; done; " \
    "grep -qsE '\"auth\"[[:space:]]*:[[:space:]]*\"[^\"]' \"$h/.docker/config.json\" && echo \"$h/.docker/config.json\"; " \
    'done | sort -u'
  )
  describe 'credential files in root\'s and users\' homes' do
    subject { found }
    it { should be_empty }
  end
end

control 'sindri-hygiene-09' do
  impact 0.7
  title 'No Packer or upload leftovers'
  desc 'cleanup.sh empties /tmp and /var/tmp (Packer\'s script_*, varfile_* and packer* files, the uploaded ' \
       'Sindri archive /tmp/sindri-archive.tar.gz, staged uploads /tmp/sindri-upload-*, the Ansible playbook ' \
       '/tmp/sindri-playbook.yml) and removes downloaded sindri-v*-linux-*.tar.gz archives from the homes.'
  tmp = lines_of.call(
    "find /tmp /var/tmp -mindepth 1 -maxdepth 1 \\( -name 'packer*' -o -name 'script_*' -o -name 'varfile_*' " \
    "-o -name 'sindri-archive.tar.gz*' -o -name 'sindri-upload-*' -o -name 'sindri-playbook.yml' " \
    "-o -name 'sindri-v*-linux-*.tar.gz*' \\) 2>/dev/null | sort"
  )
  describe 'Packer and upload leftovers in /tmp and /var/tmp' do
    subject { tmp }
    it { should be_empty }
  end
  describe file('/tmp/sindri-archive.tar.gz') do
    it { should_not exist }
  end
  archives = lines_of.call(homes_sh + 'for f in "$h"/sindri-v*-linux-*.tar.gz*; do [ -e "$f" ] && echo "$f"; done; done | sort -u')
  describe 'downloaded Sindri archives in root\'s and users\' homes' do
    subject { archives }
    it { should be_empty }
  end
end
