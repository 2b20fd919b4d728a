# The limiter. From the repository's root:
#   docker build -f deploy/docker/limiter.Dockerfile -t tollgate/limiter-service:0.1.0 .
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY . .
RUN mvn -B -q -DskipTests -pl limiter-service -am package

FROM eclipse-temurin:17-jre
RUN useradd --system --uid 10001 --home-dir /var/lib/tollgate --create-home tollgate \
    && mkdir -p /etc/tollgate
COPY --from=build /src/limiter-service/target/limiter-service.jar /opt/tollgate/limiter-service.jar
COPY deploy/examples/ /etc/tollgate/
USER 10001
WORKDIR /var/lib/tollgate
# gRPC (Envoy's rate-limit API, check, admin), HTTP (/check, /json, /healthz, /metrics), cluster.
EXPOSE 8081 8080 5701
ENTRYPOINT ["java", "-jar", "/opt/tollgate/limiter-service.jar"]
CMD ["--config", "/etc/tollgate", "--bind", "0.0.0.0", "--data-dir", "/var/lib/tollgate"]
