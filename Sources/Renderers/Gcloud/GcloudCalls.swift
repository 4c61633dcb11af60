/// gcloud calls that the rendered scripts and `tfctl apply` / `destroy` both make, spelled once (without
/// `--project`, which each adds its own way).
public enum GcloudCalls {
    /// IAM changes "typically propagate in 2 minutes" (IAM, access change propagation): how long a build waits
    /// after creating its account, which it could otherwise not yet use to read its source or push.
    public static let iamPropagationSeconds = 120

    /// The newest enabled version of secret `id`, by number: what a deployment pins (`--sort-by ~createTime`:
    /// the list's own order is not documented); nothing when it has none, which is also what the secret checks
    /// look for (Cloud Run does not start an instance whose secret it cannot read).
    public static func newestEnabledSecretVersion(_ id: String) -> [String] {
        newestEnabledSecretVersion(id, word: { $0 })
    }

    /// The same call with the id as any word (the scripts' helper takes it as `"$1"`).
    static func newestEnabledSecretVersion<Word>(_ id: Word, word: (String) -> Word) -> [Word] {
        ["secrets", "versions", "list"].map(word) + [id]
            + [
                "--filter", "state:ENABLED", "--sort-by", "~createTime", "--limit", "1", "--format",
                "value(name.basename())",
            ]
            .map(word)
    }

    /// Submits the bundled server's build and prints only the pushed digest: `--suppress-logs` keeps the build's
    /// log off standard output (it stays in Cloud Logging), and the digest comes from the build's own result, not
    /// from whatever `:latest` is by then. `sourceTag` tags the image with its source's fingerprint as well.
    public static func submitBuild(source: String, config: String, bucket: String, sourceTag: String) -> [String] {
        submitBuild(
            source: source, config: config, bucket: bucket,
            substitution: "\(CloudBuildRenderer.sourceTagSubstitution)=\(sourceTag)", word: { $0 })
    }

    /// The same call with any words (build.sh passes its variables); `substitution` is `_SOURCE_TAG=...`.
    static func submitBuild<Word>(
        source: Word, config: Word, bucket: String, substitution: Word, word: (String) -> Word
    ) -> [Word] {
        ["builds", "submit"].map(word) + [source, word("--config"), config]
            + ["--gcs-source-staging-dir", "gs://\(bucket)/source", "--suppress-logs", "--substitutions"].map(word)
            + [substitution] + ["--format", "value(results.images[0].digest)"].map(word)
    }

    /// The VPC peering Service Networking makes for private service access.
    public static let serviceNetworkingPeering = "servicenetworking-googleapis-com"

    /// The names of `network`'s peerings.
    public static func peerings(network: String) -> [String] {
        ["compute", "networks", "peerings", "list", "--network", network, "--format", "value(peerings[].name)"]
    }

    /// Removes private service access's peering from `network`'s side (removePeering, what the console does):
    /// Service Networking's own deleteConnection is refused while the producer still cleans up after Memorystore
    /// (terraform-provider-google #19908, #18834).
    public static func deleteServiceNetworkingPeering(network: String) -> [String] {
        ["compute", "networks", "peerings", "delete", serviceNetworkingPeering, "--network", network]
    }
}
