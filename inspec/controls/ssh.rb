# frozen_string_literal: true

# sshd on the running instance, judged by its effective configuration
# (`sshd -T`, run as root) rather than by parsing files: that is what sshd
# actually enforces after every drop-in (cloud-init's 50-cloud-init.conf sorts
# before 50-sindri-hardening.conf and wins for the same keyword).

require 'shellwords'

cis = input('cis_hardening') ? true : false

# Root for shell checks: with --sudo InSpec already runs every command through
# sudo (id -u prints 0); without it, the login user's passwordless sudo is used.
root_prefix = command('id -u').stdout.to_s.strip == '0' ? '' : 'sudo -n '
sys_path = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH; '
as_root = lambda do |script|
  command("#{root_prefix}sh -c #{Shellwords.escape(sys_path + script)}")
end

cache = {}
sshd_t = -> { cache[:sshd_t] ||= as_root.call('sshd -T') }
# keyword (lower case) => [values]; several keywords (port, hostkey,
# listenaddress) repeat.
sshd_settings = lambda do
  cache[:settings] ||= sshd_t.call.stdout.to_s.each_line.each_with_object({}) do |line, h|
    key, value = line.strip.split(/\s+/, 2)
    next if key.nil? || key.empty?

    (h[key.downcase] ||= []) << value.to_s.strip
  end
end
setting = ->(key) { (sshd_settings.call[key] || []).first }
# OpenSSH 8.7 renamed ChallengeResponseAuthentication to KbdInteractiveAuthentication.
kbd_interactive = -> { setting.call('kbdinteractiveauthentication') || setting.call('challengeresponseauthentication') }

control 'sindri-ssh-01' do
  impact 1.0
  title 'sshd is enabled, running and listening on its configured ports'
  desc 'The image must accept SSH logins: ssh.service runs (on Ubuntu 24.04 it is socket-activated through ' \
       'ssh.socket, so either unit being enabled counts), its effective configuration is valid, and every port ' \
       'sshd -T reports is listening.'
  describe '`sshd -T` (effective sshd configuration)' do
    subject { sshd_t.call }
    its('exit_status') { should eq 0 }
  end
  describe 'ssh.service' do
    subject { as_root.call('systemctl is-active ssh.service').stdout.to_s.strip }
    it { should eq 'active' }
  end
  describe 'enablement of ssh.service and ssh.socket' do
    subject { %w[ssh.service ssh.socket].map { |u| as_root.call("systemctl is-enabled #{u}").stdout.to_s.strip } }
    it { should include 'enabled' }
  end
  ports = (sshd_settings.call['port'] || []).map(&:to_i).reject(&:zero?).uniq
  ports = [22] if ports.empty?
  ports.each do |p|
    describe port(p) do
      it { should be_listening }
    end
  end
end

control 'sindri-ssh-02' do
  impact 1.0
  title 'sshd refuses root logins'
  desc 'security-hardening.sh sets PermitRootLogin no; with CIS hardening the effective value must be "no". ' \
       'Without it the distribution default applies, which must still refuse root passwords ' \
       '(prohibit-password/forced-commands-only); root has no usable key either (see sindri-hygiene-03).'
  allowed = cis ? %w[no] : %w[no prohibit-password without-password forced-commands-only]
  describe 'sshd effective PermitRootLogin' do
    subject { setting.call('permitrootlogin') }
    it { should be_in allowed }
  end
end

control 'sindri-ssh-03' do
  impact 1.0
  title 'sshd does not accept passwords'
  desc 'security-hardening.sh sets PasswordAuthentication, KbdInteractiveAuthentication and PermitEmptyPasswords ' \
       'to "no"; with CIS hardening those are the required effective values. Without it the scripts do not touch ' \
       'sshd, so password logins must be impossible another way: either sshd refuses passwords, or no account ' \
       'has a usable password hash in /etc/shadow (cloud-init creates users with locked passwords).'
  describe 'sshd effective PermitEmptyPasswords' do
    subject { setting.call('permitemptypasswords') }
    it { should eq 'no' }
  end
  if cis
    describe 'sshd effective PasswordAuthentication' do
      subject { setting.call('passwordauthentication') }
      it { should eq 'no' }
    end
    describe 'sshd effective KbdInteractiveAuthentication' do
      subject { kbd_interactive.call }
      it { should eq 'no' }
    end
  else
    describe 'accounts that could log in with a password over SSH' do
      subject do
        if setting.call('passwordauthentication') == 'no' && kbd_interactive.call == 'no'
          []
        else
          # Names only, never the hashes.
          as_root.call(%q(awk -F: '$2 != "" && $2 !~ /^[!*]/ { print $1 }' /etc/shadow)).stdout.to_s.split
        end
      end
      it { should be_empty }
    end
  end
end

control 'sindri-ssh-04' do
  impact 0.7
  title 'SSH host keys exist and are private to root'
  desc 'cleanup.sh removes the build\'s host keys; cloud-init or sindri-regenerate-host-keys.service (ssh-keygen -A) ' \
       'creates new ones at first boot. An ed25519 key must exist, and every private host key must be owned by ' \
       'root and readable by nobody else. Whether they are new is checked by sindri-hygiene-01.'
  describe file('/etc/ssh/ssh_host_ed25519_key') do
    it { should exist }
    it { should be_file }
  end
  keys = as_root.call("find /etc/ssh -maxdepth 1 -type f -name 'ssh_host_*_key'").stdout.to_s.split("\n").map(&:strip).reject(&:empty?).sort
  keys.each do |key|
    describe file(key) do
      its('owner') { should eq 'root' }
      it { should_not be_more_permissive_than('0600') }
    end
    describe file("#{key}.pub") do
      it { should exist }
    end
  end
end
