import TopologyModel

/// `cloudbuild/bundled-image.yaml`: the Cloud Build job that builds the reference server from
/// `Templates/Dockerfile` and pushes it to the topology's Artifact Registry (`tfctl apply` and `cloudbuild/build.sh`
/// submit it). It runs as the topology's build account (`serviceAccount`), and a build with a user-specified
/// account must say where its logs go, or Cloud Build refuses it: `options.logging` is `CLOUD_LOGGING_ONLY`.
public struct CloudBuildRenderer: Sendable {
    public init() {}

    /// The substitution that tags the image with its source's fingerprint (`tfctl apply` sets it; `manual` when
    /// the job is submitted by hand), so that an unchanged source is found and not built again.
    public static let sourceTagSubstitution = "_SOURCE_TAG"

    public func render(_ topology: Topology, source: String) -> [RenderedFile] {
        guard let service = topology.sortedServices.first(where: { $0.image == .bundled }) else { return [] }
        let image = topology.names.image(service)
        let bySource = topology.names.imageRepository + ":$" + Self.sourceTagSubstitution
        let build = YAMLValue.map(
            (
                "steps",
                .sequence([
                    .map(
                        ("name", .string("gcr.io/cloud-builders/docker")),
                        (
                            "args",
                            .sequence(
                                ["build", "--file", "Templates/Dockerfile", "--tag", image, "--tag", bySource, "."].map(
                                    YAMLValue.string))
                        )
                    )
                ])
            ),
            ("images", .sequence([.string(image), .string(bySource)])),
            ("substitutions", .map((Self.sourceTagSubstitution, .string("manual")))),
            (
                "serviceAccount",
                .string("projects/\(topology.project)/serviceAccounts/\(topology.names.buildServiceAccountEmail)")
            ),
            ("options", .map(("logging", .string("CLOUD_LOGGING_ONLY"))))
        )
        return [
            RenderedFile(
                path: "cloudbuild/bundled-image.yaml",
                contents: build.document(header: [generatedHeader(source: source)]))
        ]
    }
}
