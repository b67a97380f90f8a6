#!/bin/sh
# Resolve the Kafka jars for this recipe from Maven Central into ./libs of the
# build context: the test bed runs this `prepare:` script in a scratch copy of the
# recipe folder before `docker build`. The versions are pinned here and by the
# recipe's tag, which the recipe hash covers; Maven's local repository keeps the
# jars between builds. Kafka has no Debian package and the test bed has no
# registry, so the image is assembled from the same jars the upstream
# distribution ships.
#
# The version is the recipe's tag (image.yml). Re-running is cheap: when ./libs
# already holds the jars of that version (libs/.resolved names the same pom), nothing is fetched.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
version=$(sed -n 's/^tag: *"\{0,1\}\([0-9][0-9.]*\)"\{0,1\} *$/\1/p' "$here/image.yml")
[ -n "$version" ] || { echo "fetch-jars: no tag in $here/image.yml" >&2; exit 1; }
log4j=2.24.3

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# kafka_2.13 brings the broker, KRaft and the storage tool; kafka-tools the
# command line tools (topics, configs, console producer and consumer). Logging
# back ends are not among Kafka's declared dependencies: log4j2 with its
# binding for slf4j 1.7 (the slf4j-api Kafka depends on), as upstream ships.
cat > "$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>org.keel.testbed</groupId>
  <artifactId>kafka-libs</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$version</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$version</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-storage</artifactId><version>$version</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-api</artifactId><version>$log4j</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$log4j</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$log4j</version></dependency>
  </dependencies>
</project>
POM

# The stamp names what libs/ was resolved from: the pom itself.
stamp="kafka $version, log4j $log4j, pom $(sha256sum "$work/pom.xml" | cut -c1-16)"
if [ -f "$here/libs/.resolved" ] && [ "$(cat "$here/libs/.resolved")" = "$stamp" ]; then
    echo "fetch-jars: libs/ holds $stamp"
    exit 0
fi

echo "fetch-jars: resolving $stamp from Maven Central"
mvn -B -q -f "$work/pom.xml" \
    org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$work/libs"
rm -rf "$here/libs"
mv "$work/libs" "$here/libs"
echo "$stamp" > "$here/libs/.resolved"
echo "fetch-jars: $(ls "$here/libs" | wc -l) jars in libs/"
