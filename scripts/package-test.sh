#!/usr/bin/env bash
# Packs every project under src/ into a folder feed and builds and runs tests/PackageConsumer against the packages, by
# name and version, the way a user installs them. Fails when a package is missing its README, licence, repository, symbols
# or Source Link, or when the consumer cannot restore, build (warnings are errors) or run.
#   scripts/package-test.sh            uses TestResults/packages (git-ignored) for the feed and the consumer's packages
# The consumer's Redis part runs when SWITCHBOARD_REDIS is set (scripts/test.sh sets it; in CI it is required).
# Last line: `package-test: passed` or `package-test: failed (...)`.
set -uo pipefail
cd "$(dirname "$0")/.."

work="${SWITCHBOARD_PACKAGE_TEST_DIR:-$PWD/TestResults/packages}"
feed="$work/feed"
rm -rf "$work"
mkdir -p "$feed"

fail() {
  echo "package-test: failed ($*)"
  exit 1
}

# The one version, as Directory.Build.props sets it (a VersionSuffix given to this script's environment is honoured).
version=$(dotnet msbuild src/Switchboard/Switchboard.csproj -getProperty:PackageVersion -p:Configuration=Release 2>/dev/null | tr -d '[:space:]')
[ -n "$version" ] || fail "could not read the package version"

# The src/ projects of the solution, through a solution filter (tests, samples and benchmarks are not built for this).
projects=$(grep -o 'Path="src/[^"]*\.csproj"' Switchboard.slnx | sed 's/^Path=//' | paste -sd, -)
printf '{ "solution": { "path": "%s", "projects": [%s] } }\n' "$PWD/Switchboard.slnx" "$projects" >"$work/packages.slnf"
dotnet pack "$work/packages.slnf" --configuration Release --output "$feed" --nologo -v quiet >"$work/pack.log" 2>&1 \
  || { tail -n 30 "$work/pack.log"; fail "dotnet pack"; }

# The repository URL the packages must name, as Directory.Build.targets decides it: the publisher's, else the clone's
# https origin, else none (and then a package must not name one, nor carry Source Link to a guessed repository).
repository_url="${SWITCHBOARD_REPOSITORY_URL:-}"
if [ -z "$repository_url" ]; then
  origin=$(git remote get-url origin 2>/dev/null || true)
  case "$origin" in https://*) repository_url="${origin%.git}" ;; esac
fi

packages=()
assemblies=()
for project in src/*/*.csproj; do
  id=$(basename "$project" .csproj)
  # A project that opts out (the source generator ships inside the Switchboard package) has no package of its own.
  if grep -q '<IsPackable>false</IsPackable>' "$project"; then
    continue
  fi
  nupkg="$feed/$id.$version.nupkg"
  [ -f "$nupkg" ] || fail "$id.$version.nupkg was not produced (is $project in Switchboard.slnx?)"
  [ -f "$feed/$id.$version.snupkg" ] || fail "$id has no symbol package"
  listing=$(unzip -Z1 "$nupkg")
  nuspec=$(unzip -p "$nupkg" "$id.nuspec")
  for file in README.md LICENSE; do
    grep -qx "$file" <<<"$listing" || fail "$id's package has no $file"
  done
  for element in '<readme>README.md</readme>' '<license type="expression">MIT</license>' '<repository type="git"' 'commit="' '<description>' '<tags>'; do
    grep -qF "$element" <<<"$nuspec" || fail "$id's nuspec lacks $element"
  done
  if [ -n "$repository_url" ]; then
    grep -qF "<repository type=\"git\" url=\"$repository_url" <<<"$nuspec" || fail "$id's nuspec does not name the repository $repository_url"
  else
    ! grep -q '<repository [^>]*url=' <<<"$nuspec" || fail "$id's nuspec names a repository URL, though none is known (no SWITCHBOARD_REPOSITORY_URL, no https origin)"
  fi
  # Source Link: the symbol package's PDB maps the sources to the repository at the commit (only when it is known).
  if grep -q "^lib/" <<<"$listing"; then
    if [ -n "$repository_url" ] && [[ "$repository_url" == https://github.com/* ]]; then
      unzip -p "$feed/$id.$version.snupkg" "lib/*/$id.pdb" | grep -a 'raw.githubusercontent.com' >/dev/null || fail "$id's PDB has no Source Link"
    elif [ -z "$repository_url" ]; then
      ! unzip -p "$feed/$id.$version.snupkg" "lib/*/$id.pdb" | grep -a 'raw.githubusercontent.com' >/dev/null || fail "$id's PDB has Source Link to a repository no one named"
    fi
    assemblies+=("$id")
  fi
  if grep -q '<packageType name="DotnetTool"' <<<"$nuspec"; then
    # A tool is installed, not referenced.
    dotnet tool install "$id" --version "$version" --tool-path "$work/tools" --add-source "$feed" >>"$work/tools.log" 2>&1 \
      || { tail -n 20 "$work/tools.log"; fail "dotnet tool install $id"; }
  else
    packages+=("$id")
  fi
done

# The consumer restores into a packages folder of its own (a package of the same version restored earlier can never stand
# in for the one just packed); everything else comes from the machine's global packages folder, then the usual sources.
global=$(dotnet nuget locals global-packages --list | sed 's/^global-packages: //')
# A list in one -p: value, with its semicolons escaped (MSBuild would read a bare ';' as the start of another property).
join() { local IFS=';'; local list="$*"; echo "${list//;/%3B}"; }
props=(
  "-p:SwitchboardVersion=$version"
  "-p:SwitchboardPackages=$(join "${packages[@]}")"
  "-p:SwitchboardAssemblies=$(join "${assemblies[@]}")"
  "-p:RestorePackagesPath=$work/restored"
  "-p:RestoreAdditionalProjectSources=$feed"
  "-p:RestoreFallbackFolders=$global"
  "-p:BaseIntermediateOutputPath=$work/obj/"
  "-p:OutputPath=$work/bin/"
)
dotnet build tests/PackageConsumer/PackageConsumer.csproj --configuration Release --nologo -v quiet "${props[@]}" >"$work/build.log" 2>&1 \
  || { grep -E "error|warning" "$work/build.log" | sort -u | tail -n 30; fail "the consumer did not build against the packages"; }
dotnet "$work/bin/PackageConsumer.dll" || fail "the consumer's checks"
echo "package-test: passed (${#packages[@]} packages, version $version)"
