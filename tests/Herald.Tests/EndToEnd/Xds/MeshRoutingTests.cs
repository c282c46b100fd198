using System.Globalization;
using Herald.Tests.TestSupport.EndToEnd;
using Xunit;

namespace Herald.Tests.EndToEnd.Xds;

/// <summary>
/// One <c>herald control-plane</c> serves a <c>herald proxy</c> gateway (delta ADS) and a
/// <c>herald sidecar</c> (state-of-the-world ADS). Service <c>web</c> has three released
/// versions backed by real Kestrel upstreams registered through the registry API; both data
/// planes must route by header, cookie, semver range and weight exactly as mesh.yaml says,
/// the gateway must route gRPC by header too, and the sidecar must receive only what its
/// workload depends on.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class MeshRoutingTests
{
    [Fact(Timeout = 240_000)]
    public async Task GatewayAndSidecar_FromOneControlPlane_RouteByHeaderCookieSemverAndWeight()
    {
        var webPort = FreePort.Next();
        var gatewayPort = FreePort.Next();
        var greeterPort = FreePort.Next();
        using var mesh = new MeshFile(MeshYaml(webPort, greeterPort, gatewayPort));
        await using var controlPlane = await ControlPlaneProcess.StartAsync(mesh.Path);

        await using var v1 = await RecordingUpstream.StartAsync("web-v1");
        await using var v2 = await RecordingUpstream.StartAsync("web-v2");
        await using var v3 = await RecordingUpstream.StartAsync("web-v3");
        await controlPlane.RegisterAsync("web", v1.Port, new Dictionary<string, string> { ["track"] = "v1" }, "1.2.0");
        await controlPlane.RegisterAsync("web", v2.Port, new Dictionary<string, string> { ["track"] = "v2" }, "1.4.1");
        await controlPlane.RegisterAsync("web", v3.Port, new Dictionary<string, string> { ["track"] = "v3" }, "2.0.0");
        await using var g1 = await XdsNodePeers.StartGreeterAsync("greeter-v1");
        await using var g2 = await XdsNodePeers.StartGreeterAsync("greeter-v2");
        await controlPlane.RegisterAsync("greeter", g1.Port, new Dictionary<string, string> { ["track"] = "v1" }, "1.0.0");
        await controlPlane.RegisterAsync("greeter", g2.Port, new Dictionary<string, string> { ["track"] = "v2" }, "2.0.0");

        await using var gateway = await DataPlaneProcess.StartGatewayProxyAsync("edge", controlPlane.XdsPort, delta: true);
        await using var sidecar = await DataPlaneProcess.StartSidecarAsync("frontend-1", "frontend", controlPlane.XdsPort);
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            Timeout = TimeSpan.FromSeconds(10),
        };

        async Task<string> Context() =>
            $"--- /v1/proxies ---\n{await controlPlane.ProxiesAsync()}\n--- gateway ---\n{gateway.Transcript()}\n--- sidecar ---\n{sidecar.Transcript()}\n--- {controlPlane.Transcript()}";

        var viaGateway = new Route(http, $"http://127.0.0.1:{gatewayPort}", null);
        var viaSidecar = new Route(http, $"http://127.0.0.1:{webPort}", "web");
        foreach (var (name, route) in new[] { ("gateway", viaGateway), ("sidecar", viaSidecar) })
        {
            // The data plane is ready before every endpoint has arrived: wait until web answers.
            await route.WaitUntilServingAsync(Context);

            var alice = await route.SendAsync(40, "/", ("x-user", "alice"));
            Assert.True(Only(alice, "web-v3"), $"{name}: x-user: alice must go to v3: {Show(alice)}\n{await Context()}");

            var bob = await route.SendAsync(200, "/", ("x-user", "bob"));
            Assert.True(bob.GetValueOrDefault("web-v3") == 0, $"{name}: x-user: bob matches no rule, so v3 gets nothing: {Show(bob)}");

            var canary = await route.SendAsync(40, "/", ("cookie", "theme=dark; canary=on; lang=en"));
            Assert.True(Only(canary, "web-v2"), $"{name}: cookie canary=on must go to v2: {Show(canary)}\n{await Context()}");

            var notCanary = await route.SendAsync(200, "/", ("cookie", "canary=off; xcanary=on"));
            Assert.True(notCanary.GetValueOrDefault("web-v3") == 0 && notCanary.GetValueOrDefault("web-v1") > 100, $"{name}: canary=off is not canary=on: {Show(notCanary)}");

            // ^1.2 covers 1.2.0 (v1) and 1.4.1 (v2), not 2.0.0: the highest, v2. ~1.2 covers only v1; ^2 only v3.
            var caret = await route.SendAsync(40, "/semver/caret");
            Assert.True(Only(caret, "web-v2"), $"{name}: version ^1.2 must pick v2 (1.4.1): {Show(caret)}\n{await Context()}");
            var tilde = await route.SendAsync(40, "/semver-tilde");
            Assert.True(Only(tilde, "web-v1"), $"{name}: version ~1.2 must pick v1 (1.2.0): {Show(tilde)}\n{await Context()}");
            var major2 = await route.SendAsync(40, "/semver-major");
            Assert.True(Only(major2, "web-v3"), $"{name}: version ^2 must pick v3 (2.0.0): {Show(major2)}\n{await Context()}");

            // Everyone else: 90/10 between v1 and v2. 1,000 requests: 3 standard deviations is about ±3%.
            var split = await route.SendAsync(1000, "/");
            Assert.True(split.GetValueOrDefault("web-v3") == 0, $"{name}: the split never reaches v3: {Show(split)}");
            Assert.InRange(split.GetValueOrDefault("web-v1"), 850, 950);
            Assert.InRange(split.GetValueOrDefault("web-v2"), 50, 150);
        }

        // The recorded requests kept their path and headers through both hops.
        Assert.Contains(v2.Requests, r => r.Path == "/semver/caret");

        // gRPC through the gateway, by header: a plain @grpc/grpc-js client to the gateway's port.
        await using (var grpc = await XdsNodePeers.StartPlainClientAsync($"127.0.0.1:{gatewayPort}"))
        {
            var plain = await grpc.CallAsync(30);
            Assert.True(plain.Failed == 0 && plain.Of("greeter-v1") == 30, $"gRPC with no x-greeter header goes to greeter v1: {plain}\n{grpc.Transcript()}\n{await Context()}");
            var chosen = await grpc.CallAsync(30, ("x-greeter", "v2"));
            Assert.True(chosen.Failed == 0 && chosen.Of("greeter-v2") == 30, $"gRPC with x-greeter: v2 goes to greeter v2: {chosen}\n{grpc.Transcript()}\n{await Context()}");
        }

        // Scoping: the gateway gets the greeter's clusters, the sidecar (dependencies: [web]) must not.
        var gatewayClusters = await gateway.ClusterNamesAsync();
        Assert.Contains($"outbound|{greeterPort}|v2|greeter", gatewayClusters);
        var sidecarClusters = await sidecar.ClusterNamesAsync();
        foreach (var expected in new[] { "", "v1", "v2", "v3" })
        {
            Assert.Contains($"outbound|{webPort}|{expected}|web", sidecarClusters);
        }

        var foreign = sidecarClusters.Where(c => c != "herald_xds" && !c.EndsWith("|web", StringComparison.Ordinal)).ToList();
        Assert.True(foreign.Count == 0, $"the sidecar of 'frontend' (dependencies: [web]) received other clusters: {string.Join(", ", foreign)}");
        var dump = await sidecar.GetAdminAsync("/config_dump");
        Assert.False(dump.Contains("greeter", StringComparison.Ordinal), "the sidecar's /config_dump mentions the greeter service, which its workload does not depend on:\n" + dump);
        Assert.Contains($"outbound|{webPort}|v3|web", dump, StringComparison.Ordinal);
    }

    private static string MeshYaml(int webPort, int greeterPort, int gatewayPort) => $$$"""
        services:
          - name: web
            ports: [{port: {{{webPort}}}, protocol: http}]
            subsets:
              - {name: v1, labels: {track: v1}, version: 1.2.0}
              - {name: v2, labels: {track: v2}, version: 1.4.1}
              - {name: v3, labels: {track: v3}, version: 2.0.0}
            routing:
              timeout: 5s
              rules:
                - match: {headers: [{name: x-user, exact: alice}]}
                  subset: v3
                - match: {cookies: [{name: canary, exact: "on"}]}
                  subset: v2
                - match: {path: {prefix: /semver/}}
                  version: "^1.2"
                - match: {path: {exact: /semver-tilde}}
                  version: "~1.2"
                - match: {path: {exact: /semver-major}}
                  version: "^2"
                - split: [{subset: v1, weight: 90}, {subset: v2, weight: 10}]
          - name: greeter
            ports: [{port: {{{greeterPort}}}, protocol: grpc}]
            subsets:
              - {name: v1, labels: {track: v1}, version: 1.0.0}
              - {name: v2, labels: {track: v2}, version: 2.0.0}
            routing:
              rules:
                - match: {headers: [{name: x-greeter, exact: v2}]}
                  subset: v2
                - subset: v1
        gateways:
          - name: edge
            port: {{{gatewayPort}}}
            hosts: ["*"]
            routes:
              - match: {path: {prefix: /herald.e2e.xds.Greeter/}}
                service: greeter
              - service: web
        sidecars:
          - workload: frontend
            dependencies: [web]
        """;

    private static bool Only(Dictionary<string, int> counts, string upstream) =>
        counts.Count == 1 && counts.ContainsKey(upstream);

    private static string Show(Dictionary<string, int> counts) =>
        "{" + string.Join(", ", counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}: {c.Value}")) + "}";

    /// <summary>Requests to web through one data plane: a base URL and the Host header to send.</summary>
    private sealed class Route(HttpClient http, string baseUrl, string? host)
    {
        public async Task WaitUntilServingAsync(Func<Task<string>> context)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            var last = "no answer";
            while (DateTime.UtcNow < deadline)
            {
                try
                {
                    var counts = await SendAsync(20, "/");
                    if (counts.Keys.All(k => k.StartsWith("web-", StringComparison.Ordinal)))
                    {
                        return;
                    }

                    last = Show(counts);
                }
                catch (HttpRequestException e)
                {
                    last = e.Message;
                }

                await Task.Delay(100);
            }

            Assert.Fail($"{baseUrl} (Host {host ?? "default"}) did not serve web within 20 s: {last}\n{await context()}");
        }

        /// <summary>Sends <paramref name="count"/> GETs over 4 keep-alive connections; answers per x-upstream ("503" etc. for failures).</summary>
        public async Task<Dictionary<string, int>> SendAsync(int count, string path, params (string Name, string Value)[] headers)
        {
            var answers = await RequestLoop.RunAsync(
                http,
                count,
                4,
                _ =>
                {
                    var request = new HttpRequestMessage(HttpMethod.Get, baseUrl + path);
                    if (host is not null)
                    {
                        request.Headers.Host = host;
                    }

                    foreach (var (name, value) in headers)
                    {
                        request.Headers.TryAddWithoutValidation(name, value);
                    }

                    return request;
                },
                TimeSpan.FromSeconds(60));
            var counts = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var answer in answers)
            {
                var key = answer.Status == 200 ? answer.Upstream ?? "(no x-upstream)" : answer.Status.ToString(CultureInfo.InvariantCulture);
                counts[key] = counts.GetValueOrDefault(key) + 1;
            }

            return counts;
        }
    }
}
