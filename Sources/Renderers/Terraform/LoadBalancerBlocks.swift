import HCL
import TopologyModel

/// The global external Application Load Balancer: a serverless NEG per service and region, a backend service
/// per service, URL maps, a managed certificate, proxies, one global address and the forwarding rules.
///
/// Serverless NEG rules are honoured by construction: one NEG per region, no backend `timeout_sec`, no
/// load-balancer session affinity, no health checks.
enum LoadBalancerBlocks {
    static func backend(_ service: RealtimeService) -> String { service.name }
    static func neg(_ service: RealtimeService, _ region: String) -> String { TF.label(service.name, region) }

    static func blocks(_ context: TerraformContext) -> [Block] {
        guard let lb = context.topology.loadBalancer, let primary = context.services.first else { return [] }
        var blocks: [Block] = []
        for service in context.services {
            for region in context.regions {
                blocks.append(
                    TF.resource("google_compute_region_network_endpoint_group", neg(service, region)) {
                        Attribute("name", .string(context.names.neg(service, region)))
                        Attribute("region", .string(region))
                        Attribute("network_endpoint_type", "SERVERLESS")
                        Block("cloud_run") {
                            Attribute(
                                "service",
                                TF.ref("google_cloud_run_v2_service", CloudRun.label(service, region), "name"))
                        }
                    })
            }
            blocks.append(backendService(service, lb, context))
        }
        blocks.append(urlMap(primary: primary, context))
        // A certificate per domain set the proxy holds (`LoadBalancer.certificateDomains`), addressed by its
        // domains: a new set of domains adds a certificate beside the old one (which keeps serving while the new
        // one provisions), and removing `previous_domains` later removes the old one.
        for domains in lb.certificateDomains {
            blocks.append(
                TF.resource("google_compute_managed_ssl_certificate", certificateLabel(domains)) {
                    Attribute("name", .string(LoadBalancerNames.certificate(domains, context.names)))
                    Block("managed") {
                        Attribute("domains", TF.strings(domains))
                    }
                    Block("lifecycle") {
                        Attribute("create_before_destroy", true)
                    }
                    TF.dependsOn([context.api("compute")])
                })
        }
        // Before certificates were addressed by their domains there was one, `managed`: the certificate it holds in
        // an existing state is the one serving now (the previous one while switching).
        blocks.append(
            Block("moved") {
                Attribute("from", TF.address("google_compute_managed_ssl_certificate", "managed"))
                Attribute(
                    "to",
                    TF.address("google_compute_managed_ssl_certificate", certificateLabel(lb.certificateDomains[0])))
            })
        // Without an SSL policy the proxy accepts TLS 1.0 and the COMPATIBLE ciphers (`TLSPolicy`).
        blocks.append(
            TF.resource("google_compute_ssl_policy", "tls") {
                Attribute("name", .string(context.names.sslPolicy))
                Attribute("profile", .string(lb.tls.profile.api))
                Attribute("min_tls_version", .string(lb.tls.minVersion.api))
                TF.dependsOn([context.api("compute")])
            })
        blocks.append(
            TF.resource("google_compute_target_https_proxy", "https") {
                Attribute("name", .string(context.names.httpsProxy))
                Attribute("url_map", TF.ref("google_compute_url_map", "https", "id"))
                Attribute("ssl_policy", TF.ref("google_compute_ssl_policy", "tls", "id"))
                Attribute(
                    "ssl_certificates",
                    .list(
                        lb.certificateDomains.map {
                            TF.ref("google_compute_managed_ssl_certificate", certificateLabel($0), "id")
                        }))
            })
        blocks.append(
            TF.resource("google_compute_global_address", "load_balancer") {
                Attribute("name", .string(context.names.address))
                Attribute("address_type", "EXTERNAL")
                Attribute("ip_version", "IPV4")
                TF.dependsOn([context.api("compute")])
            })
        blocks.append(
            forwardingRule(
                "https", name: context.names.httpsForwardingRule, port: "443",
                target: TF.ref("google_compute_target_https_proxy", "https", "id")))
        if lb.httpRedirect {
            blocks.append(
                TF.resource("google_compute_url_map", "http_redirect") {
                    Attribute("name", .string(context.names.redirectURLMap))
                    Block("default_url_redirect") {
                        Attribute("https_redirect", true)
                        Attribute("redirect_response_code", .string(LoadBalancer.redirectResponseCode))
                        Attribute("strip_query", false)
                    }
                    // It references nothing else, so without this it races the Compute API's enablement.
                    TF.dependsOn([context.api("compute")])
                })
            blocks.append(
                TF.resource("google_compute_target_http_proxy", "http") {
                    Attribute("name", .string(context.names.httpProxy))
                    Attribute("url_map", TF.ref("google_compute_url_map", "http_redirect", "id"))
                })
            blocks.append(
                forwardingRule(
                    "http", name: context.names.httpForwardingRule, port: "80",
                    target: TF.ref("google_compute_target_http_proxy", "http", "id")))
        }
        return blocks
    }

    /// `cert_<hash of the domains>`: the address follows the domains, as the name does.
    static func certificateLabel(_ domains: [String]) -> String {
        "cert_" + LoadBalancerNames.domainsHash(domains)
    }

    private static func backendService(_ service: RealtimeService, _ lb: LoadBalancer, _ context: TerraformContext)
        -> Block
    {
        TF.resource("google_compute_backend_service", backend(service)) {
            Attribute("name", .string(LoadBalancerNames.backend(service, context.names)))
            Attribute("protocol", "HTTP")
            // Explicit: provider 8 changes the default from EXTERNAL (classic) to EXTERNAL_MANAGED.
            Attribute("load_balancing_scheme", "EXTERNAL_MANAGED")
            Attribute("security_policy", TF.ref("google_compute_security_policy", Security.armor, "id"))
            Block("log_config") {
                Attribute("enable", .bool(lb.logSampleRate > 0))
                Attribute("sample_rate", .double(lb.logSampleRate))
            }
            context.regions.map { region in
                Block("backend") {
                    Attribute(
                        "group", TF.ref("google_compute_region_network_endpoint_group", neg(service, region), "id"))
                }
            }
            if let outliers = OutlierDetection(regions: context.regions.count) { outlierDetection(outliers) }
        }
    }

    /// Passive health for serverless NEGs, which have no health checks: "the load balancer cannot see whether
    /// the backend is healthy" and sends each client to the nearest region, down or not. Outlier detection is
    /// what the global external ALB offers instead (its success-rate fields are not supported with serverless
    /// NEGs, so only the consecutive-error ones are set; serverless NEG concepts).
    private static func outlierDetection(_ outliers: OutlierDetection) -> Block {
        Block("outlier_detection") {
            Attribute("consecutive_errors", .int(outliers.consecutiveErrors))
            Attribute("consecutive_gateway_failure", .int(outliers.consecutiveGatewayFailures))
            Attribute("enforcing_consecutive_errors", 100)
            Attribute("enforcing_consecutive_gateway_failure", 100)
            Attribute("max_ejection_percent", .int(outliers.maxEjectionPercent))
            Block("interval") { Attribute("seconds", .int(outliers.intervalSeconds)) }
            Block("base_ejection_time") { Attribute("seconds", .int(outliers.baseEjectionSeconds)) }
        }
    }

    /// The first service (by name) is the default; every other one is routed by its path prefix `/<name>/`.
    private static func urlMap(primary: RealtimeService, _ context: TerraformContext) -> Block {
        let others = context.services.filter { $0 != primary }
        return TF.resource("google_compute_url_map", "https") {
            Attribute("name", .string(context.names.urlMap))
            Attribute("default_service", TF.ref("google_compute_backend_service", backend(primary), "id"))
            if !others.isEmpty {
                Block("host_rule") {
                    Attribute("hosts", TF.strings(["*"]))
                    Attribute("path_matcher", "services")
                }
                Block("path_matcher") {
                    Attribute("name", "services")
                    Attribute("default_service", TF.ref("google_compute_backend_service", backend(primary), "id"))
                    others.map { service in
                        Block("path_rule") {
                            Attribute("paths", TF.strings(["/\(service.name)", "/\(service.name)/*"]))
                            Attribute("service", TF.ref("google_compute_backend_service", backend(service), "id"))
                        }
                    }
                }
            }
        }
    }

    private static func forwardingRule(_ label: String, name: String, port: String, target: Expression) -> Block {
        TF.resource("google_compute_global_forwarding_rule", label) {
            Attribute("name", .string(name))
            Attribute("target", target)
            Attribute("ip_address", TF.ref("google_compute_global_address", "load_balancer", "id"))
            Attribute("ip_protocol", "TCP")
            Attribute("port_range", .string(port))
            // Explicit: provider 8 changes the default from EXTERNAL (classic) to EXTERNAL_MANAGED.
            Attribute("load_balancing_scheme", "EXTERNAL_MANAGED")
        }
    }
}
