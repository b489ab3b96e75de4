# The manager image: a static binary on a distroless base, running as non-root.
FROM golang:1.26 AS build
# The Makefile's VERSION (docker build --build-arg VERSION=...); make image is the
# release's build and stamps it itself.
ARG VERSION=dev
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
# config/ holds Go packages too: the CRD and admission policy the manager embeds.
COPY config/ config/
COPY controllers/ controllers/
COPY internal/ internal/
COPY main.go ./
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /manager .

FROM gcr.io/distroless/static:nonroot
COPY --from=build /manager /manager
USER 65532:65532
ENTRYPOINT ["/manager"]
