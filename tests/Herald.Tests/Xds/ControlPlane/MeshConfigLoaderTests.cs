using Herald.Xds.ControlPlane;
using Xunit;

namespace Herald.Tests.Xds.ControlPlane;

public sealed class MeshConfigLoaderTests
{
    internal const string Sample = """
        services:
          - name: greeter
            namespace: demo
            ports:
              - port: 50051
                protocol: grpc
            subsets:
              - name: v1
                labels: {track: stable}
                version: 1.2.0
              - name: v2
                labels: {track: canary}
                version: 1.4.1
              - name: v3
                labels: {track: next}
                version: 2.0.0
            routing:
              timeout: 5s
              retries: {attempts: 2, per_try_timeout: 1s}
              rules:
                - match:
                    headers: [{name: x-user, exact: alice}]
                  subset: v2
                - match:
                    cookies: [{name: canary, exact: "on"}]
                  subset: v3
                - match:
                    path: {prefix: /latest}
                  version: "^1.2"
                  timeout: 2s
                - match:
                    query: [{name: debug, regex: "1|true"}]
                  subset: v1
                - split:
                    - {subset: v1, weight: 90}
                    - {subset: v2, weight: 10}
          - name: web
            ports:
              - {port: 8080, protocol: http}
          - name: db
            mesh: false
            ports:
              - {port: 5432, protocol: tcp}
        external:
          - name: payments
            port: 443
            protocol: tls
            dns: api.payments.example
          - name: legacy
            port: 8081
            addresses: ["10.0.0.7", "10.0.0.8:9090"]
        gateways:
          - name: edge
            port: 8000
            hosts: ["*"]
            routes:
              - match: {path: {prefix: /api}}
                service: web
              - service: greeter
        sidecars:
          - workload: frontend
            service: web
            dependencies: [greeter, payments]
        """;

    [Fact]
    public void Load_FullExample_ReadsEverySection()
    {
        var mesh = MeshConfigLoader.Load(Sample);

        var greeter = mesh.FindService("greeter")!;
        Assert.Equal("demo", greeter.Namespace);
        Assert.Equal(MeshProtocol.Grpc, greeter.Ports[0].Protocol);
        Assert.Equal(3, greeter.Subsets.Count);
        Assert.Equal(SemVersion.Parse("1.4.1"), greeter.FindSubset("v2")!.Version);
        Assert.Equal(TimeSpan.FromSeconds(5), greeter.Routing.Timeout);
        Assert.Equal(5, greeter.Routing.Rules.Count);
        Assert.Equal(MeshActionKind.Subset, greeter.Routing.Rules[0].Action.Kind);
        Assert.Equal("x-user", greeter.Routing.Rules[0].Match.Headers[0].Name);
        Assert.Equal(MeshActionKind.Version, greeter.Routing.Rules[2].Action.Kind);
        Assert.Equal(TimeSpan.FromSeconds(2), greeter.Routing.Rules[2].Timeout);
        Assert.True(greeter.Routing.Rules[3].Match.Query[0].IsRegex);
        Assert.Equal([90, 10], greeter.Routing.Rules[4].Action.Split.Select(s => s.Weight));
        Assert.False(mesh.FindService("db")!.Mesh);
        Assert.Equal("api.payments.example", mesh.FindExternal("payments")!.Dns);
        Assert.Equal(new ExternalAddress("10.0.0.8", 9090), mesh.FindExternal("legacy")!.Addresses[1]);
        Assert.Equal(8081, mesh.FindExternal("legacy")!.Addresses[0].Port);
        Assert.Equal("web", mesh.Gateways[0].Routes[0].Service);
        Assert.Equal(["greeter", "payments"], mesh.Sidecars[0].Dependencies!);
    }

    [Fact]
    public void Load_Empty_GivesEmptyMesh()
    {
        Assert.Empty(MeshConfigLoader.Load(string.Empty).Services);
    }

    [Theory]
    [InlineData("services:\n  - name: a\n    ports:\n      - port: 80\n        protocol: quic\n", 5, "services[0].ports[0].protocol")]
    [InlineData("services:\n  - name: a\n    ports: [{port: 80}]\n    colour: red\n", 4, "services[0].colour")]
    [InlineData("services:\n  - name: a\n    ports: [{port: 80}]\n    routing:\n      rules:\n        - subset: nope\n", 6, "services[0].routing.rules[0].subset")]
    [InlineData("services:\n  - name: a\n    ports: [{port: 99999}]\n", 3, "services[0].ports[0].port")]
    [InlineData("services:\n  - name: a\n    ports: [{port: 80}]\n    subsets:\n      - name: v1\n        version: one\n", 6, "services[0].subsets[0].version")]
    [InlineData("services:\n  - name: a\n    ports: [{port: 80}]\n    subsets: [{name: v1, version: 1.0.0}]\n    routing:\n      rules:\n        - version: \"^^1\"\n", 7, "services[0].routing.rules[0].version")]
    [InlineData("services:\n  - name: a\n    ports: [{port: 80}]\n    routing:\n      rules:\n        - match:\n            path: {regex: \"([a\"}\n", 7, "services[0].routing.rules[0].match.path.regex")]
    [InlineData("sidecars:\n  - workload: w\n    dependencies: [ghost]\n", 3, "sidecars[0].dependencies[0]")]
    [InlineData("services:\n  - name: a\n    ports: [{port: 80}]\n  - name: a\n    ports: [{port: 81}]\n", 4, "services[1].name")]
    [InlineData("services:\n  - name: a\n    ports: [{port: 80}\n", 4, "(syntax)")]
    [InlineData("services:\n  - name: a\n    ports: [{port: 80}]\n    import: {dns: a.example, dns_srv: _http._tcp.a.example}\n", 4, "services[0].import")]
    [InlineData("services:\n  - name: a\n    ports: [{port: 80}, {port: 81}]\n    import: {dns: a.example}\n", 4, "services[0].import.dns")]
    [InlineData("services:\n  - name: a\n    ports: [{port: 80}]\n    import: {dns_srv: \"_http..a.example\"}\n", 4, "services[0].import.dns_srv")]
    [InlineData("services:\n  - name: a\n    ports: [{port: 80}]\n    import: {consul: a}\n", 4, "services[0].import.consul")]
    public void Load_BadField_NamesLineAndField(string yaml, int line, string field)
    {
        var e = Assert.Throws<MeshConfigException>(() => MeshConfigLoader.Load(yaml));
        Assert.Equal(line, e.Line);
        Assert.Equal(field, e.Field);
        Assert.Contains($"line {line}", e.Message, StringComparison.Ordinal);
        Assert.Contains(field, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_Import_ReadsDnsAndSrvSources()
    {
        const string yaml = "services:\n  - name: a\n    ports: [{port: 80, target_port: 8080}]\n    import: {dns: a.example.}\n  - name: b\n    ports: [{port: 81}, {port: 82}]\n    import: {dns_srv: _http._tcp.b.example}\n";

        var mesh = MeshConfigLoader.Load(yaml);

        Assert.Equal(new MeshImport("a.example", Srv: false), mesh.Services[0].Import);
        Assert.Equal("dns:a.example", mesh.Services[0].Import!.Source);
        Assert.Equal("dns-srv:_http._tcp.b.example", mesh.Services[1].Import!.Source);
    }

    [Fact]
    public void Load_RuleWithTwoActions_IsRefused()
    {
        const string yaml = "services:\n  - name: a\n    ports: [{port: 80}]\n    subsets: [{name: v1}]\n    routing:\n      rules:\n        - subset: v1\n          split: [{subset: v1, weight: 1}]\n";
        var e = Assert.Throws<MeshConfigException>(() => MeshConfigLoader.Load(yaml));
        Assert.Contains("one of 'subset', 'split' or 'version'", e.Message, StringComparison.Ordinal);
        Assert.Equal(7, e.Line);
    }

    [Fact]
    public void Load_GatewayToUnknownService_IsRefused()
    {
        const string yaml = "gateways:\n  - name: edge\n    port: 80\n    routes:\n      - service: ghost\n";
        var e = Assert.Throws<MeshConfigException>(() => MeshConfigLoader.Load(yaml));
        Assert.Equal("gateways[0].routes[0].service", e.Field);
        Assert.Equal(5, e.Line);
    }
}
