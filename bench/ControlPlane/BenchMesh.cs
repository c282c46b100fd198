using System.Globalization;
using Herald.Xds.ControlPlane;

namespace Herald.Benchmarks.ControlPlane;

/// <summary>
/// The generated mesh: services <c>svc-0000</c>.. on HTTP port 8080, each with subsets v1
/// (1.0.0) and v2 (2.0.0), a header rule to v2 and a 90/10 split; one gateway routing a path
/// prefix per service; sidecar entries for scoped workloads. Instances are spread evenly over
/// the services, alternating v1/v2 and two zones.
/// </summary>
internal static class BenchMesh
{
    public const int Port = 8080;
    public const string GatewayName = "edge";
    public const string UnscopedWorkload = "bench-client";
    public const string ChangedService = "svc-0000";

    public static string ServiceName(int i) => "svc-" + i.ToString("D4", CultureInfo.InvariantCulture);

    public static string ScopedWorkload(int i) => "bench-w-" + i.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Scoped workload i depends on <see cref="ChangedService"/> and deps-1 others, so every
    /// scoped sidecar sees the endpoint change the propagation benchmark makes.
    /// </summary>
    public static MeshConfig Create(int services, int scopedWorkloads, int deps)
    {
        var list = new List<MeshService>(services);
        var routes = new List<MeshGatewayRoute>(services);
        for (var i = 0; i < services; i++)
        {
            var name = ServiceName(i);
            var subsets = new List<MeshSubset>
            {
                new("v1", new Dictionary<string, string> { ["version"] = "v1" }, Version("1.0.0")),
                new("v2", new Dictionary<string, string> { ["version"] = "v2" }, Version("2.0.0")),
            };
            var rules = new List<MeshRouteRule>
            {
                new(
                    new MeshMatch(MeshPathKind.None, null, [new MeshValueMatch("x-canary", "true", false)], [], []),
                    new MeshRouteAction(MeshActionKind.Subset, "v2", [], null),
                    null,
                    null),
                new(
                    MeshMatch.Any,
                    new MeshRouteAction(MeshActionKind.Split, null, [new MeshWeightedSubset("v1", 90), new MeshWeightedSubset("v2", 10)], null),
                    null,
                    null),
            };
            list.Add(new MeshService(
                name,
                "bench",
                true,
                [new MeshPort(Port, MeshProtocol.Http, "http", null)],
                subsets,
                new MeshRouting(rules, TimeSpan.FromSeconds(5), new MeshRetries(2, null, null))));
            routes.Add(new MeshGatewayRoute(new MeshMatch(MeshPathKind.Prefix, $"/{name}/", [], [], []), name, null));
        }

        var sidecars = new List<MeshSidecar>(scopedWorkloads);
        for (var w = 0; w < scopedWorkloads; w++)
        {
            var dependencies = new List<string> { ChangedService };
            for (var k = 1; k < deps && k < services; k++)
            {
                var candidate = ServiceName(((w * deps) + k) % services);
                if (!dependencies.Contains(candidate))
                {
                    dependencies.Add(candidate);
                }
            }

            sidecars.Add(new MeshSidecar(ScopedWorkload(w), ServiceName(w % services), dependencies));
        }

        return new MeshConfig(list, [], [new MeshGateway(GatewayName, 8443, ["*"], routes)], sidecars);
    }

    /// <summary>Registers <paramref name="endpoints"/> instances, spread round-robin over the services.</summary>
    public static void Populate(ServiceRegistry registry, int services, int endpoints)
    {
        for (var j = 0; j < endpoints; j++)
        {
            var (service, address, labels, version) = Instance(services, j);
            registry.Register(service, address, Port, labels, version);
        }
    }

    /// <summary>Instance <paramref name="j"/> of the population: service, address, labels and version.</summary>
    public static (string Service, string Address, Dictionary<string, string> Labels, string Version) Instance(int services, int j)
    {
        var perService = j / services;
        var version = perService % 2 == 0 ? "v1" : "v2";
        var labels = new Dictionary<string, string>
        {
            ["version"] = version,
            ["region"] = "r1",
            ["zone"] = perService % 4 < 2 ? "zone-a" : "zone-b",
        };
        return (ServiceName(j % services), Address(10, j + 1), labels, version == "v1" ? "1.0.0" : "2.0.0");
    }

    /// <summary>An IPv4 literal <c>FIRST.x.y.z</c> from the low 24 bits of <paramref name="n"/>.</summary>
    public static string Address(int first, int n) =>
        string.Create(CultureInfo.InvariantCulture, $"{first}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}");

    private static SemVersion Version(string text) =>
        SemVersion.TryParse(text, out var version) && version is not null ? version : throw new InvalidOperationException(text);
}
