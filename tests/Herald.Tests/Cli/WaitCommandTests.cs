using Herald.Proxy.Cli;
using Herald.Tests.EndToEnd.Xds;
using Herald.Tests.TestSupport.EndToEnd;
using Xunit;

namespace Herald.Tests.Cli;

/// <summary><c>herald wait</c> against real herald processes, and against nothing listening.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class WaitCommandTests
{
    [Fact(Timeout = 120_000)]
    public async Task Wait_ProxyStartsAfterIt_ExitsZeroOnceReady()
    {
        var adminPort = FreePort.Next();
        using var refusing = FreePort.Refusing();
        var bootstrap = new BootstrapBuilder().HttpListener("ingress", l => l.Route("/", "up")).Cluster("up", refusing.Port);
        using var file = new TempFile();
        await File.WriteAllTextAsync(file.Path, bootstrap.ToYaml());

        // As in a pod: the hook starts polling before the proxy has bound its admin port.
        await using var wait = HeraldCli.Start("wait", "--admin", $"127.0.0.1:{adminPort}", "--timeout", "90s", "--interval", "100ms");
        await using var proxy = HeraldCli.Start("proxy", "--bootstrap", file.Path, "--admin", $"127.0.0.1:{adminPort}");

        var exit = await wait.WaitForExitAsync(TimeSpan.FromSeconds(100));

        Assert.True(exit == CommandLine.ExitOk, wait.Transcript() + "\n--- proxy ---\n" + proxy.Transcript());
        Assert.Contains($"127.0.0.1:{adminPort} is ready", wait.Stdout, StringComparison.Ordinal);
        Assert.False(proxy.HasExited, proxy.Transcript());
    }

    [Fact(Timeout = 60_000)]
    public async Task Wait_RunningProxy_ExitsZeroAtOnce()
    {
        using var refusing = FreePort.Refusing();
        await using var herald = await HeraldProcess.StartAsync(() => new BootstrapBuilder().HttpListener("ingress", l => l.Route("/", "up")).Cluster("up", refusing.Port));
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        var exit = await WaitCommand.RunAsync(["--admin", $"127.0.0.1:{herald.AdminPort}", "--timeout", "10s"], stdout, stderr, TimeProvider.System);

        Assert.True(exit == CommandLine.ExitOk, stderr.ToString());
    }

    [Fact(Timeout = 60_000)]
    public async Task Wait_SidecarWithoutControlPlane_TimesOutReportingNotReady()
    {
        // A sidecar whose control plane never answers stays PRE_INITIALIZING.
        var adminPort = FreePort.Next();
        using var controlPlane = FreePort.Refusing();
        await using var sidecar = HeraldCli.Start("sidecar", "--xds", $"127.0.0.1:{controlPlane.Port}", "--node-id", "n1", "--cluster", "web", "--admin", $"127.0.0.1:{adminPort}");
        await WaitForAdminAsync(adminPort, sidecar);
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        var exit = await WaitCommand.RunAsync(["--admin", $"127.0.0.1:{adminPort}", "--timeout", "1s"], stdout, stderr, TimeProvider.System);

        Assert.Equal(CommandLine.ExitFailure, exit);
        Assert.Contains("503 PRE_INITIALIZING", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact(Timeout = 30_000)]
    public async Task Wait_NothingListening_ExitsOneAfterTheTimeoutWithAClearMessage()
    {
        using var refusing = FreePort.Refusing();
        var port = refusing.Port;
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var started = TimeProvider.System.GetTimestamp();

        var exit = await WaitCommand.RunAsync(["--admin", $"127.0.0.1:{port}", "--timeout", "400ms"], stdout, stderr, TimeProvider.System);

        var elapsed = TimeProvider.System.GetElapsedTime(started);
        Assert.Equal(CommandLine.ExitFailure, exit);
        Assert.True(elapsed >= TimeSpan.FromMilliseconds(400), $"gave up after {elapsed}");
        var message = stderr.ToString();
        Assert.Contains($"http://127.0.0.1:{port}/ready was not ready within 400ms", message, StringComparison.Ordinal);
        Assert.Contains("Connection refused", message, StringComparison.Ordinal);
        Assert.Contains("--timeout", message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task Wait_AsAProcess_NothingListening_ExitCodeOne()
    {
        using var refusing = FreePort.Refusing();
        await using var wait = HeraldCli.Start("wait", "--admin", $"127.0.0.1:{refusing.Port}", "--timeout", "300ms");

        Assert.Equal(CommandLine.ExitFailure, await wait.WaitForExitAsync(TimeSpan.FromSeconds(50)));
    }

    [Theory]
    [InlineData(new[] { "--timeout", "soon" }, "--timeout")]
    [InlineData(new[] { "--timeout", "0s" }, "--timeout")]
    [InlineData(new[] { "--admin", "localhost" }, "--admin")]
    [InlineData(new[] { "--port", "1" }, "--port")]
    public async Task Wait_BadFlags_ExitsTwoNamingTheFlag(string[] args, string named)
    {
        var stderr = new StringWriter();

        var exit = await WaitCommand.RunAsync(args, new StringWriter(), stderr, TimeProvider.System);

        Assert.Equal(CommandLine.ExitBadConfig, exit);
        Assert.Contains(named, stderr.ToString(), StringComparison.Ordinal);
    }

    private static async Task WaitForAdminAsync(int port, ChildProcess process)
    {
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(40);
        while (DateTime.UtcNow < deadline && !process.HasExited)
        {
            try
            {
                using var response = await client.GetAsync(new Uri($"http://127.0.0.1:{port}/server_info"));
                return;
            }
            catch (HttpRequestException)
            {
                await Task.Delay(100);
            }
        }

        throw new InvalidOperationException($"the sidecar's admin endpoint never answered\n{process.Transcript()}");
    }
}
