# lit configuration shared by every suite under tests/: tools and substitutions.
import json
import os
import shutil
import subprocess

import lit.formats

config.name = 'hotpatch'
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = ['.c', '.ll', '.test']
config.excludes = ['Inputs', 'CMakeLists.txt']

build = lit_config.params.get('build')
if not build:
    lit_config.fatal('run through ctest, or pass --param build=<build directory>')
build = os.path.abspath(build)
source = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(build, 'tests', 'out')

# Where LLVM's tools are, as CMake found them (tests/CMakeLists.txt writes it at configure time).
try:
    with open(os.path.join(build, 'tests', 'lit-site.json')) as site:
        llvm_bin = json.load(site)['llvm_tools']
except (OSError, ValueError, KeyError):
    lit_config.fatal('%s is not a configured hotpatch build directory (no tests/lit-site.json)' % build)
config.environment['PATH'] = os.pathsep.join([llvm_bin, os.path.join(build, 'bin'),
                                              config.environment.get('PATH', os.environ['PATH'])])
config.environment['HOTPATCH_PLUGIN'] = os.path.join(build, 'lib', 'hotpatch.so')
for var in ('HOME', 'TMPDIR', 'HOTPATCH_CACHE', 'XDG_CACHE_HOME'):
    if var in os.environ:
        config.environment[var] = os.environ[var]

plugin = os.path.join(build, 'lib', 'hotpatch.so')
config.substitutions += [
    ('%clang', os.path.join(llvm_bin, 'clang')),
    ('%plugin', plugin),
    ('%hpdump', os.path.join(build, 'bin', 'hpdump')),
    ('%hpdiff', os.path.join(build, 'bin', 'hpdiff')),
    ('%hpctl', os.path.join(build, 'bin', 'hpctl')),
    ('%libhotpatch', os.path.join(build, 'lib', 'libhotpatch.a')),
    ('%build-pair', 'bash ' + os.path.join(source, 'tests', 'hpdiff', 'Inputs', 'build-pair.sh')),
    ('%fpcmp', 'python3 ' + os.path.join(source, 'tests', 'tools', 'fpcmp.py')),
    ('%srcroot', source),
    ('%builddir', build),
]

# package-bytes.txt was made with one compiler; under another, every package differs anyway.
try:
    with open(os.path.join(source, 'tests', 'tools', 'package-bytes.txt')) as manifest:
        made_with = manifest.readline().strip()
    compiler = subprocess.run([os.path.join(llvm_bin, 'clang'), '--version'], capture_output=True,
                              text=True).stdout.splitlines()[0]
    if made_with == '# compiler: ' + compiler:
        config.available_features.add('package-bytes-compiler')
except (OSError, IndexError):
    pass

# contrib/ansible's tests run ansible-playbook against localhost (REQUIRES: ansible); where it is
# not installed (Debian: ansible-core), lit reports them UNSUPPORTED.
if shutil.which('ansible-playbook'):
    config.available_features.add('ansible')
