/// Where the services of one region find the Redis of every other region: one secret, mounted as a file.
///
/// The region-to-region relay publishes what is broadcast in one region to every other region's Redis. The
/// endpoints it needs are data, not configuration: one document listing every region's Redis URL and CA
/// (`RelayEndpointsDocument`), in one secret that every service mounts as a file at version `latest`. Cloud Run
/// reads a mounted secret when the file is read ("When reading a volume, Cloud Run always fetches the secret value
/// from the Secret Manager to use the value with the latest version", Configure secrets for services), and the
/// server reads the file again on a schedule and when a relay fails, so a new region reaches running instances
/// without a new revision anywhere. Environment-variable secrets are the opposite ("resolved at instance startup
/// time ... pin the secret to a particular version", same page): they stay pinned, and a change to them is a
/// reviewed revision. The trade-off: a change to this document is not a revision, so it is not rolled out
/// gradually and `plan` shows it as the secret's new version only; a bad document is refused by the server, which
/// keeps the relays it has (`RelayEndpointsDocument`).
public struct RelayEndpoints: Sendable, Hashable {
    /// The secret holding the document.
    public var secretID: String

    /// The volume's name in the revision.
    public static let volumeName = "relay-endpoints"
    /// The directory the volume is mounted at: Cloud Run mounts a secret volume over a whole directory, which must
    /// not be one the image needs (nor `/dev`, `/proc`, `/sys`).
    public static let mountDirectory = "/etc/tfctl/relay"
    /// The document's file name in that directory.
    public static let fileName = "endpoints.json"
    /// The document's full path, which the server reads from `RELAY_ENDPOINTS_FILE`.
    public static var filePath: String { mountDirectory + "/" + fileName }
    /// The variable telling the server where the document is.
    public static let fileVariable = "RELAY_ENDPOINTS_FILE"
    /// The version the volume follows: `latest`, deliberately (see the type's comment).
    public static let version = "latest"
}

/// The relay document's shape, shared by what writes it (Terraform's `jsonencode`, deploy.sh) and what reads it
/// (the server): `{"format": "tfctl.relay-endpoints/v1", "regions": {"<region>": {"url": "rediss://:AUTH@host:port",
/// "ca": "<PEM, every server CA>"}}}`. `ca` is absent without in-transit encryption. Every region is listed,
/// the reader's own too (which it skips), so one document serves all regions.
public enum RelayEndpointsDocument {
    public static let format = "tfctl.relay-endpoints/v1"
    public static let formatKey = "format"
    public static let regionsKey = "regions"
    public static let urlKey = "url"
    public static let caKey = "ca"
}

extension Topology {
    /// The relay endpoints of a topology with Memorystore, in one region or many: a single region mounts the
    /// document too, so its second region is added without a new revision in the first.
    public var relayEndpoints: RelayEndpoints? {
        memorystore == nil ? nil : RelayEndpoints(secretID: names.relayEndpointsSecret)
    }
}
