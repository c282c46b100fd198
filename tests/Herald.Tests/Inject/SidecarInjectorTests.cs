using Herald.Proxy.Cli;
using Herald.Proxy.Config;
using Herald.Proxy.Inject;
using Xunit;

namespace Herald.Tests.Inject;

public sealed class SidecarInjectorTests
{
    private const string Deployment = """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
        spec:
          template:
            metadata:
              labels: {app: web}
            spec:
              containers: [{name: web, image: "example/web:1.0"}]
        """;

    private static readonly SidecarInjector Injector = new(new InjectOptions());

    [Fact]
    public void Inject_Deployment_InitThenNativeSidecarBeforeTheAppsOwnInitContainers()
    {
        var text = Injector.Inject(Deployment.Replace("    spec:\n      containers", "    spec:\n      initContainers: [{name: setup, image: \"example/setup:1\"}]\n      containers", StringComparison.Ordinal)).Text;

        var init = text.IndexOf("- name: herald-init", StringComparison.Ordinal);
        var proxy = text.IndexOf("- name: herald-proxy", StringComparison.Ordinal);
        var setup = text.IndexOf("name: setup", StringComparison.Ordinal);
        Assert.True(init > 0 && init < proxy && proxy < setup, text);
        Assert.Contains("restartPolicy: Always", text, StringComparison.Ordinal);
        Assert.Contains("runAsUser: 1337", text, StringComparison.Ordinal);
        Assert.Contains("readOnlyRootFilesystem: true", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Inject_Twice_SameAsOnce()
    {
        var once = Injector.Inject(Deployment).Text;

        var twice = Injector.Inject(once);

        Assert.Equal(once, twice.Text);
        Assert.Equal(1, twice.Injected);
    }

    [Fact]
    public void Inject_AgainWithOtherFlags_ReplacesHeraldsContainersInsteadOfAddingMore()
    {
        var once = Injector.Inject(Deployment).Text;

        var again = new SidecarInjector(new InjectOptions { Image = "registry.example/herald:2.0.0" }).Inject(once).Text;

        Assert.Single(AllIndexes(again, "name: herald-proxy"));
        Assert.Single(AllIndexes(again, "name: herald-init"));
        Assert.Contains("image: registry.example/herald:2.0.0", again, StringComparison.Ordinal);
        Assert.DoesNotContain("image: herald/herald:0.1.0", again, StringComparison.Ordinal);
    }

    [Fact]
    public void Inject_NoWorkload_TextUnchangedByteForByte()
    {
        const string text = "# a service\napiVersion: v1\nkind: Service   # trailing comment\nmetadata: {name: web}\nspec:\n  ports: [ {port: 80} ]\n";

        var result = Injector.Inject(text);

        Assert.Equal(text, result.Text);
        Assert.Equal(0, result.Injected);
        Assert.Contains(result.Notes, n => n.Contains("Service web", StringComparison.Ordinal));
    }

    [Fact]
    public void Inject_DeploymentWithoutTemplate_NamesDocumentAndField()
    {
        const string text = "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 1\n";

        var error = Assert.Throws<ConfigException>(() => Injector.Inject(text));

        Assert.Equal("document 2 (Deployment web), spec.template", error.FieldPath);
        Assert.Contains("is missing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Inject_ListItemWithoutContainers_NamesTheItem()
    {
        const string text = "apiVersion: v1\nkind: List\nitems:\n  - kind: Pod\n    metadata: {name: p}\n    spec: {containers: []}\n";

        var error = Assert.Throws<ConfigException>(() => Injector.Inject(text));

        Assert.Equal("document 1 (Pod p), items[0].spec.containers", error.FieldPath);
    }

    [Fact]
    public void Inject_MalformedYaml_NamesDocumentAndLine()
    {
        const string text = "kind: Service\nmetadata: {name: s}\n---\nkind: Deployment\nspec:\n  template: [unclosed\n";

        var error = Assert.Throws<ConfigException>(() => Injector.Inject(text));

        Assert.StartsWith("document 2, line ", error.FieldPath, StringComparison.Ordinal);
        Assert.Contains("malformed YAML", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Inject_DuplicateKey_Refused()
    {
        var error = Assert.Throws<ConfigException>(() => Injector.Inject("kind: Pod\nkind: Pod\n"));

        Assert.Contains("malformed YAML", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Inject_ScalarDocument_Refused()
    {
        var error = Assert.Throws<ConfigException>(() => Injector.Inject(Deployment + "\n---\njust text\n"));

        Assert.Equal("document 2", error.FieldPath);
    }

    [Fact]
    public void Inject_ObjectWithoutKind_Refused()
    {
        var error = Assert.Throws<ConfigException>(() => Injector.Inject("apiVersion: v1\nmetadata: {name: x}\n"));

        Assert.Equal("document 1, kind", error.FieldPath);
    }

    [Theory]
    [InlineData("herald.io/exclude-inbound-ports", "ssh", "herald.io/exclude-inbound-ports")]
    [InlineData("traffic.sidecar.istio.io/excludeOutboundIPRanges", "10.0.0.0/99", "traffic.sidecar.istio.io/excludeOutboundIPRanges")]
    [InlineData("herald.io/interception-mode", "nat", "herald.io/interception-mode")]
    [InlineData("herald.io/proxy-memory", "lots", "herald.io/proxy-memory")]
    public void Inject_BadAnnotation_NamesTheAnnotation(string key, string value, string named)
    {
        var text = Deployment.Replace("labels: {app: web}", $"labels: {{app: web}}\n      annotations: {{\"{key}\": \"{value}\"}}", StringComparison.Ordinal);

        var error = Assert.Throws<ConfigException>(() => Injector.Inject(text));

        Assert.Equal($"document 1 (Deployment web), spec.template.metadata.annotations[\"{named}\"]", error.FieldPath);
    }

    [Fact]
    public void Inject_HeraldAndIstioAnnotation_HeraldsWins()
    {
        var text = Deployment.Replace("labels: {app: web}", "labels: {app: web}\n      annotations: {traffic.sidecar.istio.io/excludeOutboundPorts: \"9999\", herald.io/exclude-outbound-ports: \"5432\"}", StringComparison.Ordinal);

        var injected = Injector.Inject(text).Text;

        Assert.Contains("- --exclude-outbound-ports\n            - \"5432\"", injected, StringComparison.Ordinal);
        Assert.DoesNotContain("9999", injected.Split("initContainers")[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Inject_AppContainerNamedLikeHeralds_Refused()
    {
        var error = Assert.Throws<ConfigException>(() => Injector.Inject(Deployment.Replace("name: web, image", "name: herald-proxy, image", StringComparison.Ordinal)));

        Assert.Equal("document 1 (Deployment web), spec.template.spec.containers[0].name", error.FieldPath);
    }

    [Fact]
    public async Task RunAsync_MalformedInput_ExitsTwoAndWritesNothing()
    {
        var output = Path.Combine(Path.GetTempPath(), $"herald-inject-{Guid.NewGuid():N}.yaml");

        var (exit, stdout, stderr) = await GoldenInjectTests.RunAsync(["-f", "-", "-o", output], "kind: Deployment\nspec: {template: }\n");

        Assert.Equal(CommandLine.ExitBadConfig, exit);
        Assert.Contains("document 1 (Deployment unnamed), spec.template", stderr, StringComparison.Ordinal);
        Assert.Contains("nothing was written", stderr, StringComparison.Ordinal);
        Assert.Empty(stdout);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public async Task RunAsync_StdinToFile_WritesInjectedFile()
    {
        var output = Path.Combine(Path.GetTempPath(), $"herald-inject-{Guid.NewGuid():N}.yaml");
        try
        {
            var (exit, _, stderr) = await GoldenInjectTests.RunAsync(["-f", "-", "-o", output, "--xds", "cp.mesh:15010"], Deployment);

            Assert.True(exit == CommandLine.ExitOk, stderr);
            Assert.Contains("- cp.mesh:15010", await File.ReadAllTextAsync(output), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(output);
        }
    }

    [Theory]
    [InlineData(new[] { "-f", "-", "--xds", "no-port" }, "--xds")]
    [InlineData(new[] { "-f", "-", "--interception", "nat" }, "--interception")]
    [InlineData(new[] { "-f", "-", "--wait-timeout", "soon" }, "--wait-timeout")]
    [InlineData(new[] { "-f", "/nonexistent/manifest.yaml" }, "-f")]
    [InlineData(new[] { "--image", "x" }, "-f FILE")]
    [InlineData(new[] { "-f", "-", "--bogus" }, "--bogus")]
    public async Task RunAsync_BadFlags_ExitsTwoNamingTheFlag(string[] args, string named)
    {
        var (exit, stdout, stderr) = await GoldenInjectTests.RunAsync(args, Deployment);

        Assert.Equal(CommandLine.ExitBadConfig, exit);
        Assert.Contains(named, stderr, StringComparison.Ordinal);
        Assert.Empty(stdout);
    }

    private static List<int> AllIndexes(string text, string value)
    {
        var found = new List<int>();
        for (var i = text.IndexOf(value, StringComparison.Ordinal); i >= 0; i = text.IndexOf(value, i + 1, StringComparison.Ordinal))
        {
            found.Add(i);
        }

        return found;
    }
}
