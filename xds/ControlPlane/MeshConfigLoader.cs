using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Herald.Xds.ControlPlane;

/// <summary>
/// Reads mesh.yaml through YamlDotNet's representation model, so every error can name the
/// line and column of the offending node and the field's path. Unknown keys are errors.
/// </summary>
public static class MeshConfigLoader
{
    private static readonly Regex NamePattern = new("^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$", RegexOptions.CultureInvariant);

    public static MeshConfig Load(string yaml)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            throw new MeshConfigException("(syntax)", e.Start.Line, e.Start.Column, e.InnerException?.Message ?? e.Message);
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
        {
            return MeshConfig.Empty;
        }

        if (stream.Documents.Count > 1)
        {
            var second = stream.Documents[1].RootNode;
            throw Error("(document)", second, "mesh.yaml holds one document; remove the second '---'");
        }

        var root = Map(stream.Documents[0].RootNode, "(root)");
        Keys(root, "(root)", "services", "external", "gateways", "sidecars");
        var services = List(root, "services", string.Empty, ReadService);
        var external = List(root, "external", string.Empty, ReadExternal);
        var gateways = List(root, "gateways", string.Empty, ReadGateway);
        var sidecars = List(root, "sidecars", string.Empty, ReadSidecar);
        var mesh = new MeshConfig(services, external, gateways, sidecars);
        Validate(mesh, root);
        return mesh;
    }

    private static MeshService ReadService(YamlNode node, string path)
    {
        var map = Map(node, path);
        Keys(map, path, "name", "namespace", "mesh", "ports", "subsets", "routing", "activation", "circuit_breakers", "outlier_detection", "health_check", "import");
        var name = Name(map, path);
        var ns = OptionalString(map, path, "namespace");
        var mesh = OptionalBool(map, path, "mesh") ?? true;
        var ports = List(map, "ports", path, ReadPort);
        if (ports.Count == 0)
        {
            throw Error(Join(path, "ports"), Child(map, "ports") ?? map, "a service needs at least one port");
        }

        var seen = new HashSet<int>();
        for (var i = 0; i < ports.Count; i++)
        {
            if (!seen.Add(ports[i].Port))
            {
                throw Error($"{path}.ports[{i}].port", ((YamlSequenceNode)map.Children["ports"]).Children[i], $"port {ports[i].Port} is listed twice");
            }
        }

        var subsets = List(map, "subsets", path, ReadSubset);
        var subsetNames = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < subsets.Count; i++)
        {
            if (!subsetNames.Add(subsets[i].Name))
            {
                throw Error($"{path}.subsets[{i}].name", ((YamlSequenceNode)map.Children["subsets"]).Children[i], $"subset '{subsets[i].Name}' is defined twice");
            }
        }

        var routing = Child(map, "routing") is { } r ? ReadRouting(r, Join(path, "routing"), subsets) : MeshRouting.None;
        var activation = Child(map, "activation") is { } a ? ReadActivation(a, Join(path, "activation")) : null;
        var breakers = Child(map, "circuit_breakers") is { } b ? ReadCircuitBreakers(b, Join(path, "circuit_breakers")) : null;
        return new MeshService(name, ns, mesh, ports, subsets, routing)
        {
            Activation = activation,
            CircuitBreakers = breakers,
            OutlierDetection = Child(map, "outlier_detection") is { } o ? ReadOutlierDetection(o, Join(path, "outlier_detection")) : null,
            HealthCheck = Child(map, "health_check") is { } h ? ReadHealthCheck(h, Join(path, "health_check")) : null,
            Import = Child(map, "import") is { } imp ? ReadImport(imp, Join(path, "import"), ports) : null,
        };
    }

    private static MeshImport ReadImport(YamlNode node, string path, List<MeshPort> ports)
    {
        var map = Map(node, path);
        Keys(map, path, "dns", "dns_srv");
        var host = OptionalString(map, path, "dns");
        var srv = OptionalString(map, path, "dns_srv");
        if ((host is null) == (srv is null))
        {
            throw Error(path, node, "import takes exactly one of 'dns: NAME' (A and AAAA records, on the service's port) or 'dns_srv: _SERVICE._PROTO.NAME' (SRV records)");
        }

        var name = (host ?? srv)!.TrimEnd('.');
        if (name.Length is 0 or > 253 || name.Split('.').Any(label => label.Length is 0 or > 63))
        {
            throw Error(Join(path, host is null ? "dns_srv" : "dns"), node, $"'{name}' is not a DNS name");
        }

        if (host is not null && ports.Count > 1)
        {
            throw Error(Join(path, "dns"), node, "A and AAAA records carry no port, so a service imported with 'dns' has one port; use 'dns_srv' for several");
        }

        return new MeshImport(name, srv is not null);
    }

    private static MeshCircuitBreakers ReadCircuitBreakers(YamlNode node, string path)
    {
        var map = Map(node, path);
        Keys(map, path, "max_connections", "max_pending_requests", "max_requests", "max_retries");
        int? Limit(string key)
        {
            if (Child(map, key) is not { } limitNode)
            {
                return null;
            }

            var value = Int(limitNode, Join(path, key));
            return value is >= 0 and <= 1_000_000_000 ? value : throw Error(Join(path, key), limitNode, "a limit is from 0 to 1000000000");
        }

        return new MeshCircuitBreakers(Limit("max_connections"), Limit("max_pending_requests"), Limit("max_requests"), Limit("max_retries"));
    }

    private static MeshOutlierDetection ReadOutlierDetection(YamlNode node, string path)
    {
        var map = Map(node, path);
        Keys(map, path, "consecutive_5xx", "consecutive_gateway_failure", "interval", "base_ejection_time", "max_ejection_percent");
        return new MeshOutlierDetection(
            BoundedInt(map, path, "consecutive_5xx", 1, 1_000_000),
            BoundedInt(map, path, "consecutive_gateway_failure", 1, 1_000_000),
            Duration(map, path, "interval"),
            Duration(map, path, "base_ejection_time"),
            BoundedInt(map, path, "max_ejection_percent", 0, 100));
    }

    private static MeshHealthCheck ReadHealthCheck(YamlNode node, string path)
    {
        var map = Map(node, path);
        Keys(map, path, "http", "tcp", "grpc", "interval", "timeout", "unhealthy_threshold", "healthy_threshold");
        var http = OptionalString(map, path, "http");
        var tcp = OptionalBool(map, path, "tcp") ?? false;
        var grpc = Child(map, "grpc") is { } grpcNode ? (grpcNode is YamlScalarNode { Value: null or "" or "~" } ? string.Empty : Scalar(grpcNode, Join(path, "grpc"))) : null;
        var kinds = (http is null ? 0 : 1) + (tcp ? 1 : 0) + (grpc is null ? 0 : 1);
        if (kinds != 1)
        {
            throw Error(path, map, "a health check needs exactly one of http: /path, tcp: true or grpc: service-name");
        }

        if (http is not null && (http.Length == 0 || http[0] != '/'))
        {
            throw Error(Join(path, "http"), Child(map, "http")!, $"'{http}' is not a request path such as /healthz");
        }

        var interval = Duration(map, path, "interval") ?? MeshHealthCheck.DefaultInterval;
        var timeout = Duration(map, path, "timeout") ?? MeshHealthCheck.DefaultTimeout;
        return new MeshHealthCheck(
            http,
            tcp,
            grpc,
            interval,
            timeout,
            BoundedInt(map, path, "unhealthy_threshold", 1, 1000) ?? MeshHealthCheck.DefaultUnhealthyThreshold,
            BoundedInt(map, path, "healthy_threshold", 1, 1000) ?? MeshHealthCheck.DefaultHealthyThreshold);
    }

    private static int? BoundedInt(YamlMappingNode map, string path, string key, int minimum, int maximum)
    {
        if (Child(map, key) is not { } node)
        {
            return null;
        }

        var value = Int(node, Join(path, key));
        if (value < minimum || value > maximum)
        {
            throw Error(Join(path, key), node, $"{key} is from {minimum} to {maximum}");
        }

        return value;
    }

    private static MeshActivation ReadActivation(YamlNode node, string path)
    {
        var map = Map(node, path);
        Keys(map, path, "hold_timeout", "queue_depth", "endpoint_concurrency", "webhook");
        var holdTimeout = Duration(map, path, "hold_timeout") ?? MeshActivation.DefaultHoldTimeout;
        if (holdTimeout > TimeSpan.FromHours(1))
        {
            throw Error(Join(path, "hold_timeout"), Child(map, "hold_timeout")!, "a hold timeout is at most 1h");
        }

        var queueDepth = MeshActivation.DefaultQueueDepth;
        if (Child(map, "queue_depth") is { } depthNode)
        {
            queueDepth = Int(depthNode, Join(path, "queue_depth"));
            if (queueDepth is < 1 or > 1_000_000)
            {
                throw Error(Join(path, "queue_depth"), depthNode, "the queue depth is from 1 to 1000000");
            }
        }

        var concurrency = 0;
        if (Child(map, "endpoint_concurrency") is { } concurrencyNode)
        {
            concurrency = Int(concurrencyNode, Join(path, "endpoint_concurrency"));
            if (concurrency is < 0 or > 1_000_000)
            {
                throw Error(Join(path, "endpoint_concurrency"), concurrencyNode, "the concurrency per endpoint is from 0 (no limit) to 1000000");
            }
        }

        Uri? webhook = null;
        if (Child(map, "webhook") is { } webhookNode)
        {
            var text = Scalar(webhookNode, Join(path, "webhook"));
            if (!Uri.TryCreate(text, UriKind.Absolute, out webhook) || webhook.Scheme is not ("http" or "https"))
            {
                throw Error(Join(path, "webhook"), webhookNode, $"'{text}' is not an http or https URL");
            }
        }

        return new MeshActivation(holdTimeout, queueDepth, concurrency, webhook);
    }

    private static MeshPort ReadPort(YamlNode node, string path)
    {
        var map = Map(node, path);
        Keys(map, path, "port", "protocol", "name", "target_port");
        var port = Port(map, path, "port", required: true)!.Value;
        var protocol = Protocol(map, path);
        return new MeshPort(port, protocol, OptionalString(map, path, "name"), Port(map, path, "target_port", required: false));
    }

    private static MeshSubset ReadSubset(YamlNode node, string path)
    {
        var map = Map(node, path);
        Keys(map, path, "name", "labels", "version");
        var name = Name(map, path);
        var labels = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (Child(map, "labels") is { } labelsNode)
        {
            var labelMap = Map(labelsNode, Join(path, "labels"));
            foreach (var (key, value) in labelMap.Children)
            {
                labels[Scalar(key, Join(path, "labels"))] = Scalar(value, $"{path}.labels.{Scalar(key, path)}");
            }
        }

        SemVersion? version = null;
        if (Child(map, "version") is { } versionNode && !SemVersion.TryParse(Scalar(versionNode, Join(path, "version")), out version))
        {
            throw Error(Join(path, "version"), versionNode, $"'{Scalar(versionNode, path)}' is not a semantic version such as 1.4.2");
        }

        return new MeshSubset(name, labels, version);
    }

    private static MeshRouting ReadRouting(YamlNode node, string path, IReadOnlyList<MeshSubset> subsets)
    {
        var map = Map(node, path);
        Keys(map, path, "rules", "timeout", "retries");
        var rules = List(map, "rules", path, (n, p) => ReadRule(n, p, subsets));
        return new MeshRouting(rules, Duration(map, path, "timeout"), Child(map, "retries") is { } r ? ReadRetries(r, Join(path, "retries")) : null);
    }

    private static MeshRouteRule ReadRule(YamlNode node, string path, IReadOnlyList<MeshSubset> subsets)
    {
        var map = Map(node, path);
        Keys(map, path, "match", "subset", "split", "version", "timeout", "retries");
        var match = Child(map, "match") is { } m ? ReadMatch(m, Join(path, "match")) : MeshMatch.Any;
        var actions = 0;
        var action = MeshRouteAction.AllInstances;
        if (Child(map, "subset") is { } subsetNode)
        {
            actions++;
            var subset = Scalar(subsetNode, Join(path, "subset"));
            RequireSubset(subsets, subset, Join(path, "subset"), subsetNode);
            action = new MeshRouteAction(MeshActionKind.Subset, subset, [], null);
        }

        if (Child(map, "split") is { } splitNode)
        {
            actions++;
            action = new MeshRouteAction(MeshActionKind.Split, null, ReadSplit(splitNode, Join(path, "split"), subsets), null);
        }

        if (Child(map, "version") is { } versionNode)
        {
            actions++;
            var text = Scalar(versionNode, Join(path, "version"));
            if (!SemVerRange.TryParse(text, out var range, out var error))
            {
                throw Error(Join(path, "version"), versionNode, error!);
            }

            if (subsets.Count == 0 || subsets.All(s => s.Version is null))
            {
                throw Error(Join(path, "version"), versionNode, "a version range needs subsets with a 'version'");
            }

            action = new MeshRouteAction(MeshActionKind.Version, null, [], range);
        }

        if (actions > 1)
        {
            throw Error(path, node, "a rule takes one of 'subset', 'split' or 'version'");
        }

        var retries = Child(map, "retries") is { } r ? ReadRetries(r, Join(path, "retries")) : null;
        return new MeshRouteRule(match, action, Duration(map, path, "timeout"), retries);
    }

    private static List<MeshWeightedSubset> ReadSplit(YamlNode node, string path, IReadOnlyList<MeshSubset> subsets)
    {
        var entries = List(node, path, (n, p) =>
        {
            var map = Map(n, p);
            Keys(map, p, "subset", "weight");
            var subsetNode = Required(map, p, "subset");
            var subset = Scalar(subsetNode, Join(p, "subset"));
            RequireSubset(subsets, subset, Join(p, "subset"), subsetNode);
            var weightNode = Required(map, p, "weight");
            var weight = Int(weightNode, Join(p, "weight"));
            if (weight < 0 || weight > 1_000_000)
            {
                throw Error(Join(p, "weight"), weightNode, "a weight is between 0 and 1000000");
            }

            return new MeshWeightedSubset(subset, weight);
        });
        if (entries.Count == 0 || entries.Sum(e => e.Weight) == 0)
        {
            throw Error(path, node, "a split needs at least one subset with a weight above 0");
        }

        return entries;
    }

    private static MeshMatch ReadMatch(YamlNode node, string path)
    {
        var map = Map(node, path);
        Keys(map, path, "path", "headers", "cookies", "query");
        var kind = MeshPathKind.None;
        string? value = null;
        if (Child(map, "path") is { } pathNode)
        {
            var pathPath = Join(path, "path");
            var pathMap = Map(pathNode, pathPath);
            Keys(pathMap, pathPath, "prefix", "exact", "regex");
            if (pathMap.Children.Count != 1)
            {
                throw Error(pathPath, pathNode, "give exactly one of 'prefix', 'exact' or 'regex'");
            }

            var (key, v) = pathMap.Children.First();
            var k = Scalar(key, pathPath);
            value = Scalar(v, Join(pathPath, k));
            kind = k switch { "prefix" => MeshPathKind.Prefix, "exact" => MeshPathKind.Exact, _ => MeshPathKind.Regex };
            if (kind == MeshPathKind.Regex)
            {
                CheckRegex(value, Join(pathPath, k), v);
            }
            else if (!value.StartsWith('/'))
            {
                throw Error(Join(pathPath, k), v, "a path starts with '/'");
            }
        }

        return new MeshMatch(
            kind,
            value,
            List(map, "headers", path, ReadValueMatch),
            List(map, "cookies", path, ReadValueMatch),
            List(map, "query", path, ReadValueMatch));
    }

    private static MeshValueMatch ReadValueMatch(YamlNode node, string path)
    {
        var map = Map(node, path);
        Keys(map, path, "name", "exact", "regex");
        var nameNode = Required(map, path, "name");
        var name = Scalar(nameNode, Join(path, "name"));
        if (name.Length == 0)
        {
            throw Error(Join(path, "name"), nameNode, "a name must not be empty");
        }

        var exact = Child(map, "exact");
        var regex = Child(map, "regex");
        if ((exact is null) == (regex is null))
        {
            throw Error(path, node, "give exactly one of 'exact' or 'regex'");
        }

        if (regex is not null)
        {
            var pattern = Scalar(regex, Join(path, "regex"));
            CheckRegex(pattern, Join(path, "regex"), regex);
            return new MeshValueMatch(name, pattern, true);
        }

        return new MeshValueMatch(name, Scalar(exact!, Join(path, "exact")), false);
    }

    private static MeshRetries ReadRetries(YamlNode node, string path)
    {
        var map = Map(node, path);
        Keys(map, path, "attempts", "per_try_timeout", "on");
        var attemptsNode = Required(map, path, "attempts");
        var attempts = Int(attemptsNode, Join(path, "attempts"));
        if (attempts is < 0 or > 10)
        {
            throw Error(Join(path, "attempts"), attemptsNode, "attempts is between 0 and 10");
        }

        return new MeshRetries(attempts, Duration(map, path, "per_try_timeout"), OptionalString(map, path, "on"));
    }

    private static ExternalService ReadExternal(YamlNode node, string path)
    {
        var map = Map(node, path);
        Keys(map, path, "name", "port", "protocol", "addresses", "dns", "routing");
        var name = Name(map, path);
        var port = Port(map, path, "port", required: true)!.Value;
        var protocol = Protocol(map, path);
        var addresses = List(map, "addresses", path, (n, p) =>
        {
            var text = Scalar(n, p);
            var colon = text.LastIndexOf(':');
            var host = text;
            var addressPort = port;
            if (colon > 0 && text.IndexOf(':', StringComparison.Ordinal) == colon)
            {
                host = text[..colon];
                if (!int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out addressPort) || addressPort is < 1 or > 65535)
                {
                    throw Error(p, n, $"'{text}' has no valid port");
                }
            }

            if (!System.Net.IPAddress.TryParse(host.Trim('[', ']'), out _))
            {
                throw Error(p, n, $"'{host}' is not an IP address; use 'dns' for names");
            }

            return new ExternalAddress(host.Trim('[', ']'), addressPort);
        });
        var dns = OptionalString(map, path, "dns");
        if ((addresses.Count == 0) == (dns is null))
        {
            throw Error(path, node, "an external service takes either 'addresses' or 'dns'");
        }

        var routing = Child(map, "routing") is { } r ? ReadRouting(r, Join(path, "routing"), []) : MeshRouting.None;
        return new ExternalService(name, port, protocol, addresses, dns, routing);
    }

    private static MeshGateway ReadGateway(YamlNode node, string path)
    {
        var map = Map(node, path);
        Keys(map, path, "name", "port", "hosts", "routes");
        var name = Name(map, path);
        var port = Port(map, path, "port", required: true)!.Value;
        var hosts = List(map, "hosts", path, Scalar);
        var routes = List(map, "routes", path, (n, p) =>
        {
            var routeMap = Map(n, p);
            Keys(routeMap, p, "match", "service", "port");
            var match = Child(routeMap, "match") is { } m ? ReadMatch(m, Join(p, "match")) : MeshMatch.Any;
            var service = Scalar(Required(routeMap, p, "service"), Join(p, "service"));
            return new MeshGatewayRoute(match, service, Port(routeMap, p, "port", required: false));
        });
        return new MeshGateway(name, port, hosts.Count == 0 ? ["*"] : hosts, routes);
    }

    private static MeshSidecar ReadSidecar(YamlNode node, string path)
    {
        var map = Map(node, path);
        Keys(map, path, "workload", "service", "dependencies");
        var workload = Scalar(Required(map, path, "workload"), Join(path, "workload"));
        var service = OptionalString(map, path, "service");
        IReadOnlyList<string>? dependencies = Child(map, "dependencies") is null ? null : List(map, "dependencies", path, Scalar);
        return new MeshSidecar(workload, service, dependencies);
    }

    // Cross-references, once everything is read.
    private static void Validate(MeshConfig mesh, YamlMappingNode root)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < mesh.Services.Count; i++)
        {
            if (!names.Add(mesh.Services[i].Name))
            {
                throw Error($"services[{i}].name", Item(root, "services", i), $"service '{mesh.Services[i].Name}' is defined twice");
            }
        }

        for (var i = 0; i < mesh.External.Count; i++)
        {
            if (!names.Add(mesh.External[i].Name))
            {
                throw Error($"external[{i}].name", Item(root, "external", i), $"'{mesh.External[i].Name}' is already a service name");
            }
        }

        var gatewayNames = new HashSet<string>(StringComparer.Ordinal);
        for (var g = 0; g < mesh.Gateways.Count; g++)
        {
            var gateway = mesh.Gateways[g];
            if (!gatewayNames.Add(gateway.Name))
            {
                throw Error($"gateways[{g}].name", Item(root, "gateways", g), $"gateway '{gateway.Name}' is defined twice");
            }

            for (var r = 0; r < gateway.Routes.Count; r++)
            {
                var route = gateway.Routes[r];
                var routeNode = Item((YamlMappingNode)Item(root, "gateways", g), "routes", r);
                var field = $"gateways[{g}].routes[{r}]";
                var ports = PortsOf(mesh, route.Service);
                if (ports is null)
                {
                    throw Error(field + ".service", routeNode, $"no service or external service is named '{route.Service}'");
                }

                if (route.Port is { } port ? !ports.Any(p => p.Port == port && p.IsHttp) : !ports.Any(p => p.IsHttp))
                {
                    throw Error(field + ".port", routeNode, $"'{route.Service}' has no HTTP, HTTP/2 or gRPC port{(route.Port is null ? string.Empty : $" {route.Port}")}");
                }
            }
        }

        var workloads = new HashSet<string>(StringComparer.Ordinal);
        for (var s = 0; s < mesh.Sidecars.Count; s++)
        {
            var sidecar = mesh.Sidecars[s];
            var sidecarNode = (YamlMappingNode)Item(root, "sidecars", s);
            if (!workloads.Add(sidecar.Workload))
            {
                throw Error($"sidecars[{s}].workload", sidecarNode, $"workload '{sidecar.Workload}' is listed twice");
            }

            if (sidecar.Service is { } own && mesh.FindService(own) is null)
            {
                throw Error($"sidecars[{s}].service", sidecarNode, $"no service is named '{own}'");
            }

            for (var d = 0; d < (sidecar.Dependencies?.Count ?? 0); d++)
            {
                if (PortsOf(mesh, sidecar.Dependencies![d]) is null)
                {
                    throw Error($"sidecars[{s}].dependencies[{d}]", Item(sidecarNode, "dependencies", d), $"no service or external service is named '{sidecar.Dependencies[d]}'");
                }
            }
        }
    }

    private static List<MeshPort>? PortsOf(MeshConfig mesh, string name)
    {
        if (mesh.FindService(name) is { } service)
        {
            return [.. service.Ports];
        }

        return mesh.FindExternal(name) is { } external ? [new MeshPort(external.Port, external.Protocol, null, null)] : null;
    }

    private static void RequireSubset(IReadOnlyList<MeshSubset> subsets, string name, string path, YamlNode node)
    {
        if (!subsets.Any(s => s.Name == name))
        {
            throw Error(path, node, $"no subset is named '{name}'");
        }
    }

    private static void CheckRegex(string pattern, string path, YamlNode node)
    {
        try
        {
            _ = new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException e)
        {
            throw Error(path, node, $"'{pattern}' is not a valid regular expression: {e.Message}");
        }
    }

    private static YamlNode Item(YamlMappingNode map, string key, int index) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var list) && list is YamlSequenceNode seq && index < seq.Children.Count ? seq.Children[index] : map;

    private static MeshProtocol Protocol(YamlMappingNode map, string path)
    {
        var node = Child(map, "protocol");
        if (node is null)
        {
            return MeshProtocol.Http;
        }

        return Scalar(node, Join(path, "protocol")) switch
        {
            "http" => MeshProtocol.Http,
            "http2" => MeshProtocol.Http2,
            "grpc" => MeshProtocol.Grpc,
            "tcp" => MeshProtocol.Tcp,
            "tls" => MeshProtocol.Tls,
            var other => throw Error(Join(path, "protocol"), node, $"'{other}' is not one of http, http2, grpc, tcp, tls"),
        };
    }

    private static string Name(YamlMappingNode map, string path)
    {
        var node = Required(map, path, "name");
        var name = Scalar(node, Join(path, "name"));
        if (!NamePattern.IsMatch(name))
        {
            throw Error(Join(path, "name"), node, $"'{name}' is not a name: use lower-case letters, digits, '-' and '.'");
        }

        return name;
    }

    private static int? Port(YamlMappingNode map, string path, string key, bool required)
    {
        var node = required ? Required(map, path, key) : Child(map, key);
        if (node is null)
        {
            return null;
        }

        var port = Int(node, Join(path, key));
        if (port is < 1 or > 65535)
        {
            throw Error(Join(path, key), node, $"{port} is not a port (1-65535)");
        }

        return port;
    }

    private static TimeSpan? Duration(YamlMappingNode map, string path, string key)
    {
        var node = Child(map, key);
        if (node is null)
        {
            return null;
        }

        var text = Scalar(node, Join(path, key));
        if (TryDuration(text, out var value) && value > TimeSpan.Zero)
        {
            return value;
        }

        throw Error(Join(path, key), node, $"'{text}' is not a duration such as 250ms, 5s or 1m");
    }

    internal static bool TryDuration(string text, out TimeSpan value)
    {
        value = default;
        var (number, scale) = text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], 1.0)
            : text.EndsWith('s') ? (text[..^1], 1000.0)
            : text.EndsWith('m') ? (text[..^1], 60_000.0)
            : text.EndsWith('h') ? (text[..^1], 3_600_000.0)
            : (text, 1000.0);
        if (!double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n) || n > 1e9)
        {
            return false;
        }

        value = TimeSpan.FromMilliseconds(n * scale);
        return true;
    }

    private static int Int(YamlNode node, string path)
    {
        var text = Scalar(node, path);
        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            throw Error(path, node, $"'{text}' is not a whole number");
        }

        return value;
    }

    private static bool? OptionalBool(YamlMappingNode map, string path, string key)
    {
        var node = Child(map, key);
        if (node is null)
        {
            return null;
        }

        return Scalar(node, Join(path, key)) switch
        {
            "true" or "yes" => true,
            "false" or "no" => false,
            var other => throw Error(Join(path, key), node, $"'{other}' is not true or false"),
        };
    }

    private static string? OptionalString(YamlMappingNode map, string path, string key) =>
        Child(map, key) is { } node ? Scalar(node, Join(path, key)) : null;

    private static YamlNode Required(YamlMappingNode map, string path, string key) =>
        Child(map, key) ?? throw Error(Join(path, key), map, $"'{key}' is required");

    private static YamlNode? Child(YamlMappingNode map, string key)
    {
        if (!map.Children.TryGetValue(new YamlScalarNode(key), out var node))
        {
            return null;
        }

        return node is YamlScalarNode { Value: null } scalar && scalar.Style == YamlDotNet.Core.ScalarStyle.Plain && scalar.Tag.IsEmpty ? null : node;
    }

    private static List<T> List<T>(YamlMappingNode map, string key, string path, Func<YamlNode, string, T> read)
    {
        var node = Child(map, key);
        return node is null ? [] : List(node, Join(path, key), read);
    }

    private static List<T> List<T>(YamlNode node, string path, Func<YamlNode, string, T> read)
    {
        if (node is not YamlSequenceNode seq)
        {
            throw Error(path, node, "expected a list");
        }

        var result = new List<T>(seq.Children.Count);
        for (var i = 0; i < seq.Children.Count; i++)
        {
            result.Add(read(seq.Children[i], $"{path}[{i}]"));
        }

        return result;
    }

    private static YamlMappingNode Map(YamlNode node, string path) =>
        node as YamlMappingNode ?? throw Error(path, node, "expected a mapping (key: value)");

    private static string Scalar(YamlNode node, string path) =>
        node is YamlScalarNode scalar ? scalar.Value ?? string.Empty : throw Error(path, node, "expected a single value");

    private static void Keys(YamlMappingNode map, string path, params string[] allowed)
    {
        foreach (var key in map.Children.Keys)
        {
            var name = key is YamlScalarNode s ? s.Value ?? string.Empty : "?";
            if (Array.IndexOf(allowed, name) < 0)
            {
                throw Error(Join(path, name), key, $"unknown field '{name}'; expected one of {string.Join(", ", allowed)}");
            }
        }
    }

    private static string Join(string path, string key) => path.Length == 0 || path == "(root)" ? key : $"{path}.{key}";

    private static MeshConfigException Error(string field, YamlNode node, string problem) =>
        new(field, node.Start.Line, node.Start.Column, problem);
}
