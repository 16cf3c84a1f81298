# frozen_string_literal: true

# Base packages from init.sh, and Docker when the Sindri profile brings it.

require 'shellwords'

login_user = input('ssh_user').to_s

# Root for shell checks: with --sudo InSpec already runs every command through
# sudo (id -u prints 0); without it, the login user's passwordless sudo is used.
root_prefix = command('id -u').stdout.to_s.strip == '0' ? '' : 'sudo -n '
sys_path = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH; '
as_root = lambda do |script|
  command("#{root_prefix}sh -c #{Shellwords.escape(sys_path + script)}")
end
# Whether a program is on root's PATH.
installed = lambda do |tool|
  as_root.call("command -v #{Shellwords.escape(tool)}").exit_status.zero?
end
# A login shell of the login user, so PATH is what an SSH login gets.
in_login_shell = lambda do |script|
  as_root.call("sudo -n -i -u #{Shellwords.escape(login_user)} -- sh -c #{Shellwords.escape(script)}")
end

control 'sindri-base-01' do
  impact 0.7
  title 'Base packages from init.sh are installed'
  desc 'init.sh installs ca-certificates, curl, git, tar, gzip, jq, sudo and openssh-server; every later ' \
       'provisioning step and Sindri itself rely on them.'
  %w[ca-certificates curl git tar gzip jq sudo openssh-server].each do |pkg|
    describe package(pkg) do
      it { should be_installed }
    end
  end
end

control 'sindri-base-02' do
  impact 0.7
  title "git and curl work for #{login_user}"
  desc 'git and curl are on the login user\'s PATH and run.'
  %w[git curl].each do |tool|
    describe "`#{tool} --version` in a login shell of #{login_user}" do
      subject { in_login_shell.call("#{tool} --version") }
      its('exit_status') { should eq 0 }
    end
  end
end

control 'sindri-base-03' do
  impact 0.7
  title 'Docker is installed and running'
  desc 'When the Sindri profile or extensions bring Docker (input docker_expected), or Docker is installed anyway ' \
       '(a provisioning script, the base image), the docker CLI is installed, docker.service is enabled and ' \
       'running, and the daemon answers.'
  only_if('Docker is neither expected (input docker_expected) nor installed') do
    input('docker_expected') || installed.call('docker')
  end
  describe '`command -v docker`' do
    subject { as_root.call('command -v docker') }
    its('exit_status') { should eq 0 }
  end
  describe 'docker.service' do
    subject { %w[is-enabled is-active].map { |verb| as_root.call("systemctl #{verb} docker.service").stdout.to_s.strip } }
    it { should eq %w[enabled active] }
  end
  describe '`docker info` (daemon reachable)' do
    subject { as_root.call('timeout 60 docker info --format "{{.ServerVersion}}"') }
    its('exit_status') { should eq 0 }
    its('stdout') { should match(/\S/) }
  end
end

control 'sindri-base-04' do
  impact 0.5
  title "wget works for #{login_user} when it is installed"
  desc 'The design lists wget beside git, curl and docker. It is not part of every base image, so it is checked ' \
       'only where it is installed: on the login user\'s PATH, and it runs.'
  only_if('wget is not installed') { installed.call('wget') }
  describe "`wget --version` in a login shell of #{login_user}" do
    subject { in_login_shell.call('wget --version') }
    its('exit_status') { should eq 0 }
  end
end
