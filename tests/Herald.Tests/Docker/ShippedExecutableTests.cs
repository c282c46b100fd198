using System.Text;
using Herald.Tests.TestSupport.EndToEnd;
using Xunit;

namespace Herald.Tests.Docker;

/// <summary>
/// The executable the image ships is published with the Dockerfile's own arguments
/// (trimmed, ReadyToRun, single file) and run: the rest of the suite runs the untrimmed
/// build, so only this catches what trimming or the publish defaults change.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class ShippedExecutableTests
{
    private const string DynamicCodeOff = "\"System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported\": false";

    [Fact(Timeout = 600_000)]
    public async Task Publish_DockerfileArguments_StartsAndForwardsWithDynamicCodeOff()
    {
        var output = Directory.CreateTempSubdirectory("herald-shipped-");
        try
        {
            var publish = await ProcessRunner.RunAsync(
                Tools.DotnetHost(), [.. DockerfilePublishArguments(output.FullName), "--disable-build-servers"], TimeSpan.FromMinutes(9), RepoPaths.Root);
            Assert.True(publish.ExitCode == 0, publish.ToString());
            var executable = Path.Combine(output.FullName, "herald");

            // A trimmed publish defaults the SDK's DynamicCodeSupport to true, which once
            // overrode Herald's switch: ~560 more JIT compilations and ~60 ms more to start.
            var bundle = await File.ReadAllBytesAsync(executable);
            Assert.True(bundle.AsSpan().IndexOf(Encoding.UTF8.GetBytes(DynamicCodeOff)) >= 0, $"the bundled runtimeconfig lacks {DynamicCodeOff}");

            await using var upstream = await RecordingUpstream.StartAsync("shipped");
            // With the image's environment too (the runtime switches a runtimeconfig cannot hold).
            await using var herald = await HeraldProcess.StartAsync(
                () => new BootstrapBuilder().HttpListener("ingress", l => l.Route("/", "up")).Cluster("up", upstream.H2cPort, http2: true),
                [],
                executable,
                DockerfileEnvironment());

            var http1 = await Curl.RunAsync("--http1.1", "-w", " %{http_version}", $"{herald.ListenerUrl("ingress")}/one");
            var h2c = await Curl.RunAsync("--http2-prior-knowledge", "-w", " %{http_version}", $"{herald.ListenerUrl("ingress")}/two");
            var configDump = await herald.GetAdminAsync("config_dump");

            Assert.True(http1.ExitCode == 0, http1.ToString() + herald.Transcript());
            Assert.Equal("shipped 1.1", http1.Stdout);
            Assert.True(h2c.ExitCode == 0, h2c.ToString() + herald.Transcript());
            Assert.Equal("shipped 2", h2c.Stdout);
            Assert.Equal(["/one", "/two"], upstream.Requests.Select(r => r.Path).Order());
            // /config_dump formats the protobuf configuration through reflection, which
            // trimming would break first.
            Assert.Contains("type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", configDump, StringComparison.Ordinal);
        }
        finally
        {
            output.Delete(recursive: true);
        }
    }

    /// <summary>The ENV instructions (<c>NAME=VALUE</c>) of the Dockerfile's final stage.</summary>
    private static Dictionary<string, string> DockerfileEnvironment()
    {
        var dockerfile = DockerfileModel.Load(Path.Combine(DockerfileLintTests.DockerDirectory, "Dockerfile"));
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var instruction in dockerfile.Final.All("ENV"))
        {
            foreach (var pair in instruction.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                var equals = pair.IndexOf('=', StringComparison.Ordinal);
                Assert.True(equals > 0, $"ENV {instruction.Arguments}: only the NAME=VALUE form is read here");
                environment[pair[..equals]] = pair[(equals + 1)..];
            }
        }

        Assert.Contains("DOTNET_JitHostMaxSlabCache", environment.Keys);
        Assert.Contains("DOTNET_GCgen0size", environment.Keys);
        Assert.Contains("DOTNET_TC_DelaySingleProcMultiplier", environment.Keys);
        return environment;
    }

    /// <summary>The Dockerfile's <c>dotnet publish</c> arguments, with the output folder replaced.</summary>
    private static IEnumerable<string> DockerfilePublishArguments(string outputDirectory)
    {
        var dockerfile = DockerfileModel.Load(Path.Combine(DockerfileLintTests.DockerDirectory, "Dockerfile"));
        var run = dockerfile.Stages[0].All("RUN").Single(r => r.Arguments.Contains("dotnet publish", StringComparison.Ordinal)).Arguments;
        var command = run.Split("&&")[0];
        var words = command.Split([' ', '\t', '\\', '\n'], StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["dotnet", "publish"], words[..2]);
        for (var i = 1; i < words.Length; i++)
        {
            if (words[i] == "-o")
            {
                yield return "-o";
                yield return outputDirectory;
                i++;
            }
            else
            {
                yield return words[i];
            }
        }
    }
}
