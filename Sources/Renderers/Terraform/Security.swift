import HCL
import TopologyModel

/// Secret Manager secrets the services read, and the Cloud Armor policy in front of the load balancer.
enum Security {
    static let armor = "armor"

    static func blocks(_ context: TerraformContext) -> [Block] {
        var blocks: [Block] = []
        for secret in context.userSecrets {
            // Values are added out of band (`gcloud secrets versions add`): they never pass through Terraform state.
            blocks.append(Self.secret(label: userSecretLabel(secret), id: secret, context: context))
            blocks.append(IAM.secretAccessor(label: userSecretLabel(secret)))
        }
        if let lb = context.topology.loadBalancer {
            blocks.append(securityPolicy(lb, context))
        }
        blocks.append(secretAuditLogs(context))
        return blocks
    }

    /// Data-access audit logs of Secret Manager: who read which secret version (the Redis AUTH string, the
    /// publish token) and when. Google writes admin-activity audit logs always; data-access logs, which
    /// AccessSecretVersion is (DATA_READ), only when configured. This resource owns the secretmanager.googleapis.com
    /// entry of the project's audit config. Query: `protoPayload.serviceName="secretmanager.googleapis.com"`.
    static func secretAuditLogs(_ context: TerraformContext) -> Block {
        TF.resource("google_project_iam_audit_config", "secretmanager") {
            Attribute("project", TF.variable("project_id"))
            Attribute("service", "secretmanager.googleapis.com")
            for type in ["ADMIN_READ", "DATA_READ"] {
                Block("audit_log_config") {
                    Attribute("log_type", .string(type))
                }
            }
        }
    }

    static func userSecretLabel(_ secret: String) -> String { TF.label("secret", secret) }

    static func secret(label: String, id: String, context: TerraformContext) -> Block {
        TF.resource("google_secret_manager_secret", label) {
            Attribute("secret_id", .string(id))
            Block("replication") {
                Block("auto", body: [])
            }
            TF.dependsOn([context.api("secretmanager")])
        }
    }

    private static func matchAll() -> Block {
        Block("match") {
            Attribute("versioned_expr", "SRC_IPS_V1")
            Block("config") {
                Attribute("src_ip_ranges", TF.strings(["*"]))
            }
        }
    }

    static func securityPolicy(_ lb: LoadBalancer, _ context: TerraformContext) -> Block {
        TF.resource("google_compute_security_policy", armor) {
            Attribute("name", .string(context.names.securityPolicy))
            Attribute("description", .string("Cloud Armor policy of the \(context.topology.name) load balancer"))
            Attribute("type", "CLOUD_ARMOR")
            Block("rule") {
                Attribute("action", "deny(403)")
                Attribute("priority", .int(AdminPaths.priority))
                Attribute("description", .string(AdminPaths.description))
                Block("match") {
                    Block("expr") {
                        Attribute("expression", .string(AdminPaths.expression(lb)))
                    }
                }
            }
            for rule in lb.waf.rules {
                Block("rule") {
                    Attribute("action", "deny(403)")
                    Attribute("priority", .int(rule.priority))
                    Attribute("description", .string(rule.description))
                    // Stated either way: the provider computes `preview` when it is left out, so dropping the line
                    // would not take a rule out of preview.
                    Attribute("preview", .bool(lb.waf.preview))
                    Block("match") {
                        Block("expr") {
                            Attribute("expression", .string(rule.expression))
                        }
                    }
                }
            }
            if let limit = lb.rateLimit {
                Block("rule") {
                    Attribute("action", limit.banSeconds == nil ? "throttle" : "rate_based_ban")
                    Attribute("priority", 1000)
                    Attribute("description", .string(LoadBalancerNames.rateLimitDescription(limit)))
                    matchAll()
                    Block("rate_limit_options") {
                        Attribute("conform_action", "allow")
                        Attribute("exceed_action", "deny(429)")
                        Attribute("enforce_on_key", .string(limit.key.api.key))
                        if let name = limit.key.api.name { Attribute("enforce_on_key_name", .string(name)) }
                        if let ban = limit.banSeconds { Attribute("ban_duration_sec", .int(ban)) }
                        Block("rate_limit_threshold") {
                            Attribute("count", .int(limit.requests))
                            Attribute("interval_sec", .int(limit.intervalSeconds))
                        }
                    }
                }
            }
            Block("rule") {
                Attribute("action", "allow")
                Attribute("priority", 2_147_483_647)
                Attribute("description", "Default rule: allow")
                matchAll()
            }
            // Stated either way, so that turning it off in the model turns it off in the policy.
            Block("adaptive_protection_config") {
                Block("layer_7_ddos_defense_config") {
                    Attribute("enable", .bool(lb.adaptiveProtection))
                }
            }
            TF.dependsOn([context.api("compute")])
        }
    }
}

/// The runtime service account and the least privilege it needs.
enum IAM {
    static let runtime = "runtime"

    static func blocks(_ context: TerraformContext) -> [Block] {
        var blocks = [
            TF.resource("google_service_account", runtime) {
                Attribute("account_id", .string(context.names.serviceAccountID))
                Attribute("display_name", .string("\(context.topology.name) real-time services"))
                TF.dependsOn([context.api("iam")])
            }
        ]
        for (role, reason) in context.topology.runtimeRoleReasons {
            blocks.append(
                TF.resource("google_project_iam_member", TF.label("runtime", String(role.dropFirst("roles/".count)))) {
                    Attribute("project", TF.variable("project_id"))
                    Attribute("role", .string(role))
                    Attribute("member", TF.ref("google_service_account", runtime, "member"))
                }.commented(reason))
        }
        for (role, reason) in context.topology.runtimeSelfRoles {
            blocks.append(
                TF.resource(
                    "google_service_account_iam_member",
                    TF.label("runtime_self", String(role.dropFirst("roles/".count)))
                ) {
                    Attribute("service_account_id", TF.ref("google_service_account", runtime, "name"))
                    Attribute("role", .string(role))
                    Attribute("member", TF.ref("google_service_account", runtime, "member"))
                }.commented(reason))
        }
        return blocks
    }

    /// Read access to one secret for the runtime service account, on the secret rather than the project.
    static func secretAccessor(label: String) -> Block {
        TF.resource("google_secret_manager_secret_iam_member", label) {
            Attribute("secret_id", TF.ref("google_secret_manager_secret", label, "id"))
            Attribute("role", "roles/secretmanager.secretAccessor")
            Attribute("member", TF.ref("google_service_account", runtime, "member"))
        }
    }
}
