using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Herald.Tests.TestSupport.EndToEnd;
using Xunit;

namespace Herald.Tests.EndToEnd;

/// <summary>Config herald cannot honour exits with code 2 and names the field; never ignored.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class BadBootstrapTests
{
    private const string Hcm = "static_resources.listeners[0].filter_chains[0].filters[0]";

    public static TheoryData<string> Cases => [.. Bootstraps.Keys];

    /// <summary>Each case: the bootstrap text and what stderr must contain (a regex).</summary>
    private static readonly Dictionary<string, (Func<string> Yaml, string[] Expected)> Bootstraps = new()
    {
        ["unknown-field-on-cluster"] = (
            () => Mutate(root => Cluster(root)["per_connection_buffer_limit_bytes"] = 1024),
            [Regex.Escape("static_resources.clusters[0].per_connection_buffer_limit_bytes")]),
        ["cluster-provided-on-static"] = (
            () => Mutate(root => Cluster(root)["lb_policy"] = "CLUSTER_PROVIDED"),
            [Regex.Escape("static_resources.clusters[0].lb_policy")]),
        ["cluster-without-name"] = (
            () => Mutate(root => Cluster(root).Remove("name")),
            [Regex.Escape("static_resources.clusters[0]"), "name"]),
        ["route-to-unknown-cluster"] = (
            () => Mutate(root => Route(root)["route"]!["cluster"] = "no_such_cluster"),
            [Regex.Escape("virtual_hosts[0].routes[0].route.cluster"), "no_such_cluster"]),
        ["unsupported-network-filter"] = (
            () => Mutate(root =>
            {
                var filter = Filter(root);
                filter["name"] = "envoy.filters.network.mongo_proxy";
                filter["typed_config"] = new JsonObject
                {
                    ["@type"] = "type.googleapis.com/envoy.extensions.filters.network.mongo_proxy.v3.MongoProxy",
                    ["stat_prefix"] = "mongo",
                };
            }),
            [Regex.Escape(Hcm)]),
        ["invalid-yaml"] = (
            () => "node:\n  id: herald-e2e\n  cluster: e2e\nstatic_resources:\n  listeners: [\n    - name: broken\n  clusters: []\n",
            // The error is on line 6 ("- name: broken" inside a flow sequence): "line 6" or "FILE:6:COL".
            [@"(?i)(line\W{0,3}6\b|:6:\d)"]),
        ["unknown-typed-config-type"] = (
            () => Mutate(root => Filter(root)["typed_config"]!["@type"] = "type.googleapis.com/envoy.extensions.filters.network.does_not_exist.v3.Nope"),
            [Regex.Escape(Hcm + ".typed_config")]),
        ["duplicate-listener-name"] = (
            () => Mutate(root =>
            {
                var listeners = (JsonArray)root["static_resources"]!["listeners"]!;
                var copy = listeners[0]!.DeepClone();
                copy["address"]!["socket_address"]!["port_value"] = FreePort.Next();
                listeners.Add(copy);
            }),
            [Regex.Escape("static_resources.listeners[1].name")]),
        ["codec-type-http3"] = (
            () => Mutate(root => Filter(root)["typed_config"]!["codec_type"] = "HTTP3"),
            [Regex.Escape(Hcm), "codec_type"]),
    };

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(Cases))]
    public async Task BadBootstrap_ExitsWithCode2_NamingTheField(string name)
    {
        var (yaml, expected) = Bootstraps[name];
        var text = yaml();

        var result = await HeraldProcess.RunToExitAsync(text, TimeSpan.FromSeconds(20));

        Assert.True(result.ExitCode == 2, $"{name}: expected exit code 2\n{result}\nbootstrap:\n{text}");
        foreach (var pattern in expected)
        {
            Assert.True(Regex.IsMatch(result.Stderr, pattern), $"{name}: stderr does not match /{pattern}/\n{result}\nbootstrap:\n{text}");
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task ValidBaseBootstrap_Starts()
    {
        // The cases above are this bootstrap with one thing wrong: it must itself be accepted.
        await using var upstream = await RecordingUpstream.StartAsync("up");
        await using var herald = await HeraldProcess.StartAsync(() => Base(upstream.Port));

        Assert.False(herald.HasExited);
    }

    private static BootstrapBuilder Base(int upstreamPort) => new BootstrapBuilder()
        .HttpListener("ingress", l => l.Route("/", "up"))
        .Cluster("up", upstreamPort);

    private static string Mutate(Action<JsonObject> change)
    {
        var root = Base(FreePort.Next()).Root;
        change(root);
        return YamlWriter.Write(root);
    }

    private static JsonObject Cluster(JsonObject root) => (JsonObject)root["static_resources"]!["clusters"]![0]!;

    private static JsonObject Filter(JsonObject root) =>
        (JsonObject)root["static_resources"]!["listeners"]![0]!["filter_chains"]![0]!["filters"]![0]!;

    private static JsonObject Route(JsonObject root) =>
        (JsonObject)Filter(root)["typed_config"]!["route_config"]!["virtual_hosts"]![0]!["routes"]![0]!;
}
