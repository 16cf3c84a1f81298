# frozen_string_literal: true

# The Sindri CLI and what install-sindri.sh / install-extensions.sh left in
# the image: /usr/local/bin/sindri, its install record under
# /usr/local/share/sindri-packer/, the login user's ~/.sindri/{state,
# extensions,cache}, and the requested profile and extensions.

require 'shellwords'
require 'date'
require 'yaml'

sindri_bin = '/usr/local/bin/sindri'
sindri_record = '/usr/local/share/sindri-packer/sindri.install'

login_user = input('ssh_user').to_s
want_version = input('sindri_version').to_s.strip.sub(/\Av/, '')
want_profile = input('profile').to_s.strip
# Same splitting as install-extensions.sh (commas and/or whitespace, duplicates
# dropped, order kept), so a comma-separated string works as well as an Array.
want_extensions = Array(input('extensions')).flat_map { |e| e.to_s.split(/[\s,]+/) }.reject(&:empty?).uniq
login_home = user(login_user).home.to_s
login_home = "/home/#{login_user}" if login_home.empty?

# Root for shell checks: with --sudo InSpec already runs every command through
# sudo (id -u prints 0); without it, the login user's passwordless sudo is used.
root_prefix = command('id -u').stdout.to_s.strip == '0' ? '' : 'sudo -n '
sys_path = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH; '
as_root = lambda do |script|
  command("#{root_prefix}sh -c #{Shellwords.escape(sys_path + script)}")
end
# Sindri runs as the login user with that user's HOME and working directory,
# as install-extensions.sh ran it at build time.
as_login_user = lambda do |script|
  as_root.call("sudo -n -H -u #{Shellwords.escape(login_user)} -- sh -c #{Shellwords.escape('cd "$HOME" && ' + script)}")
end
sindri_cmd = lambda do |args|
  as_login_user.call("timeout 120 #{sindri_bin} #{args}")
end

# True when the first line of `sindri --version` names the version, word by
# word, like install-sindri.sh's reports_version: "sindri 3.0.1",
# "sindri v3.0.1 (abc)" and "sindri 3.0.1 (test double)" match 3.0.1; 3.0.10
# does not.
reports_version = lambda do |out, version|
  out.to_s.lines.first.to_s.split.any? { |w| w.sub(/\Av/, '').sub(/[,;:)]+\z/, '') == version }
end

# NAME as a whole word: Sindri names match ^[a-z0-9][a-z0-9._-]*$, so any other
# character (space, table rule, quote, "@version") ends it. ASCII only, so
# the match works on output in any encoding.
name_re = ->(name) { /(?:\A|[^a-z0-9._-])#{Regexp.escape(name)}(?:[^a-z0-9._-]|\z)/ }

# ~/.sindri/state/installed: the record "profile NAME" / "extension NAME" per
# line. This is what the project's sindri test double writes; a real CLI may
# keep other files there, which the other sources below cover.
state_file = File.join(login_home, '.sindri', 'state', 'installed')
state_lines = lambda do
  as_root.call("cat -- #{Shellwords.escape(state_file)} 2>/dev/null").stdout.to_s.lines.map(&:strip)
end
recorded_in_state = lambda do |kind, name|
  state_lines.call.any? { |l| l.split == [kind, name] }
end

# ~/.sindri/extensions/manifest.yaml: Sindri v3's record of installed
# extensions (extensions: {NAME: {state: installed|outdated|failed|...}}).
manifest_file = File.join(login_home, '.sindri', 'extensions', 'manifest.yaml')
recorded_in_manifest = lambda do |name|
  text = as_root.call("cat -- #{Shellwords.escape(manifest_file)} 2>/dev/null").stdout.to_s
  begin
    doc = YAML.safe_load(text, permitted_classes: [Date, Time, Symbol], aliases: true)
  rescue StandardError
    doc = nil
  end
  entry = doc.is_a?(Hash) && doc['extensions'].is_a?(Hash) ? doc['extensions'][name] : nil
  entry.is_a?(Hash) && %w[installed outdated].include?(entry['state'].to_s.downcase)
end

negative_re = /not[ _-]?installed|missing|failed|partial|incomplete|unknown|not found|no such/i

# The CLI's own view. Sindri v3 documents `sindri extension list --installed`
# (installed only; plain `extension list` and `profile list` show the
# catalogue, so a name there proves nothing) and `sindri profile status
# NAME`. Their output format is not specified, so a source counts only when
# the command succeeds, names the item as a word, and (for status) says
# installed without a negative word. The test double supports none of these
# and exits 2, which simply leaves the state record as the evidence.
cli_reports_extension = lambda do |name|
  r = sindri_cmd.call("extension list --installed")
  r.exit_status.to_i.zero? && r.stdout.to_s.lines.any? { |l| l =~ name_re.call(name) && l !~ negative_re }
end
cli_reports_profile = lambda do |name|
  r = sindri_cmd.call("profile status #{Shellwords.escape(name)}")
  out = r.stdout.to_s
  r.exit_status.to_i.zero? && out =~ name_re.call(name) && out =~ /\binstalled\b/i && out !~ negative_re
end

control 'sindri-cli-01' do
  impact 1.0
  title 'The sindri CLI is installed in /usr/local/bin and is on the login user\'s PATH'
  desc 'install-sindri.sh installs the binary to /usr/local/bin/sindri with mode 0755, owned by root. ' \
       'A login shell of the login user must resolve `sindri` to that file.'
  describe file(sindri_bin) do
    it { should exist }
    it { should be_file }
    it { should_not be_symlink }
    its('owner') { should eq 'root' }
    its('mode') { should cmp '0755' }
    it { should be_executable }
    it { should_not be_writable.by('group') }
    it { should_not be_writable.by('others') }
  end
  describe "`command -v sindri` in a login shell of #{login_user}" do
    # sudo -i runs the user's login shell, so /etc/profile and ~/.profile set
    # PATH as they would for an SSH login.
    subject do
      as_root.call("sudo -n -i -u #{Shellwords.escape(login_user)} -- sh -c 'command -v sindri'").stdout.to_s.lines.last.to_s.strip
    end
    it { should eq sindri_bin }
  end
end

control 'sindri-cli-02' do
  impact 1.0
  title 'sindri --version reports the requested release'
  desc "install-sindri.sh refuses a binary whose `sindri --version` does not name the requested version (#{want_version}); " \
       'the installed CLI, run as the login user, must still report it.'
  result = sindri_cmd.call('--version')
  describe "`sindri --version` as #{login_user}" do
    subject { result }
    its('exit_status') { should eq 0 }
  end
  describe "first line of `sindri --version` names #{want_version}" do
    subject { reports_version.call(result.stdout, want_version) }
    it("(output: #{result.stdout.to_s.lines.first.to_s.strip.inspect})") { should eq true }
  end
end

control 'sindri-cli-03' do
  impact 0.7
  title 'The install record matches the requested version and the installed binary'
  desc "install-sindri.sh writes #{sindri_record} as \"VERSION ARCHIVE_SHA256 BINARY_SHA256\" after verifying the " \
       "release archive's checksum. The record must name #{want_version} and the sha256 of /usr/local/bin/sindri, " \
       'which shows the binary is the one that came from the verified archive.'
  describe file(sindri_record) do
    it { should exist }
    it { should be_file }
    its('owner') { should eq 'root' }
    it { should_not be_writable.by('others') }
  end
  fields = file(sindri_record).content.to_s.split
  binary_sha = file(sindri_bin).sha256sum.to_s
  describe 'install record version' do
    subject { fields[0] }
    it { should eq want_version }
  end
  describe 'install record archive sha256' do
    subject { fields[1].to_s }
    it { should match(/\A\h{64}\z/) }
  end
  describe 'install record binary sha256' do
    subject { fields[2].to_s }
    it { should match(/\A\h{64}\z/) }
    it { should eq binary_sha }
  end
end

control 'sindri-cli-04' do
  impact 0.7
  title "~/.sindri/{state,extensions,cache} exist and belong to #{login_user}"
  desc 'install-sindri.sh creates ~/.sindri and its state, extensions and cache directories for the login user ' \
       '(SINDRI_USER), owned by that user, with ~/.sindri/state at 0700. They must not be symlinks.'
  describe user(login_user) do
    it { should exist }
  end
  %w[.sindri .sindri/state .sindri/extensions .sindri/cache].each do |rel|
    describe file(File.join(login_home, rel)) do
      it { should exist }
      it { should be_directory }
      it { should_not be_symlink }
      it { should be_owned_by login_user }
      it { should_not be_writable.by('others') }
    end
  end
  describe file(File.join(login_home, '.sindri', 'state')) do
    it { should_not be_more_permissive_than('0700') }
  end
end

control 'sindri-cli-05' do
  impact 0.7
  title "The requested Sindri profile '#{want_profile}' is installed"
  desc 'install-extensions.sh ran `sindri profile install NAME -y` as the login user. The profile counts as installed ' \
       'when any of these says so: the record "profile NAME" in ~/.sindri/state/installed, or ' \
       '`sindri profile status NAME` succeeding and reporting it installed (the real CLI; `profile list` shows the ' \
       'catalogue, not what is installed, so it is not used as evidence).'
  only_if('no Sindri profile requested (build.profile is empty)') { !want_profile.empty? }
  describe "Sindri profile #{want_profile}" do
    it 'is reported installed (~/.sindri/state/installed or `sindri profile status`)' do
      found = recorded_in_state.call('profile', want_profile) || cli_reports_profile.call(want_profile)
      expect(found ? true : false).to be(true), "profile #{want_profile} is neither recorded in #{state_file} " \
                                 "nor reported installed by `sindri profile status #{want_profile}`"
    end
  end
end

control 'sindri-cli-06' do
  impact 0.7
  title 'The requested Sindri extensions are installed'
  desc 'install-extensions.sh ran `sindri extension install NAME -y` for each extension as the login user. Each ' \
       'counts as installed when any of these says so: the record "extension NAME" in ~/.sindri/state/installed, ' \
       'an installed/outdated entry in ~/.sindri/extensions/manifest.yaml (Sindri v3), or ' \
       '`sindri extension list --installed` naming it.'
  only_if('no Sindri extensions requested (build.extensions is empty)') { !want_extensions.empty? }
  want_extensions.each do |name|
    describe "Sindri extension #{name}" do
      it 'is reported installed (state record, manifest.yaml or `sindri extension list --installed`)' do
        found = recorded_in_state.call('extension', name) || recorded_in_manifest.call(name) ||
                cli_reports_extension.call(name)
        expect(found ? true : false).to be(true), "extension #{name} is not recorded in #{state_file} or #{manifest_file} " \
                                   'and not listed by `sindri extension list --installed`'
      end
    end
  end
end
