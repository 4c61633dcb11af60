/// The reference server's admin and metrics surfaces (`/metrics`, and `/v1/...`: publish, instances, rooms,
/// disconnecting a user), which the load balancer refuses: a Cloud Armor rule ahead of every other one denies them
/// with 403 unless the client is in `load_balancer.admin_source_ranges`. Backends in the VPC reach the service
/// directly (its ingress takes internal traffic), not through the edge.
public enum AdminPaths {
    /// The rule's priority: before the rate limit (1000) and anything after it.
    public static let priority = 900

    /// What the rule matches, in the Cloud Armor custom rules language. The path is URL-decoded and lower-cased
    /// first and leading slashes collapse, so `//v1/publish`, `/%76%31/publish` or `/V1/publish` are refused as
    /// well. Each admin range is one `inIpRange` subexpression; an expression has at most five (validation
    /// allows four ranges beside the path test).
    public static func expression(_ lb: LoadBalancer) -> String {
        let path = "request.path.urlDecodeUni().lower().matches('\(pathPattern)')"
        guard !lb.adminSourceRanges.isEmpty else { return path }
        let allowed = lb.adminSourceRanges.map { "inIpRange(origin.ip, '\($0)')" }.joined(separator: " || ")
        return "\(path) && !(\(allowed))"
    }

    /// The decoded, lower-cased paths the rule refuses: `/metrics` and everything under `/v1/`.
    public static let pathPattern = "^/+(metrics|v1)(/|$)"

    /// At most this many admin ranges: five subexpressions per expression, one of them the path.
    public static let maxSourceRanges = 4

    /// At most 64 characters, as every rule's description (`WebApplicationFirewall.maxDescription`).
    public static let description = "Admin and metrics paths: not served through the load balancer"
}
