# The gateway adapter. From the repository's root:
#   docker build -f deploy/docker/gateway-adapter.Dockerfile -t tollgate/gateway-adapter:0.1.0 .
# Mount its config at /etc/tollgate-adapter/adapter.yaml.
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY . .
RUN mvn -B -q -DskipTests -pl gateway-adapter -am package

FROM eclipse-temurin:17-jre
RUN useradd --system --uid 10001 tollgate
COPY --from=build /src/gateway-adapter/target/gateway-adapter.jar /opt/tollgate/gateway-adapter.jar
USER 10001
ENTRYPOINT ["java", "-jar", "/opt/tollgate/gateway-adapter.jar"]
CMD ["--config", "/etc/tollgate-adapter/adapter.yaml"]
