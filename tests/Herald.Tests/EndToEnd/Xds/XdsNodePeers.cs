using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Herald.Tests.TestSupport.EndToEnd;

namespace Herald.Tests.EndToEnd.Xds;

/// <summary>
/// The Node peers in tests/Herald.Tests/EndToEnd/Xds/node: greeter servers (@grpc/grpc-js)
/// and a greeter client, plain or proxyless xDS (@grpc/grpc-js-xds). <c>npm ci</c> runs
/// once per lock file, under a machine-wide file lock, when node_modules does not match it.
/// </summary>
internal static class XdsNodePeers
{
    private static readonly SemaphoreSlim InstallGate = new(1, 1);
    private static bool s_installed;

    public static string Folder => Path.Combine(RepoPaths.Root, "tests", "Herald.Tests", "EndToEnd", "Xds", "node");

    public static async Task EnsureInstalledAsync()
    {
        await InstallGate.WaitAsync();
        try
        {
            if (s_installed)
            {
                return;
            }

            var dir = Folder;
            var lockHash = Convert.ToHexString(SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(dir, "package-lock.json"))));
            var stamp = Path.Combine(dir, "node_modules", ".herald-lock-sha256");
            var lockPath = Path.Combine(Path.GetTempPath(), $"herald-e2e-npm-{lockHash[..16]}.lock");
            using var fileLock = await AcquireFileLockAsync(lockPath, TimeSpan.FromMinutes(5));
            if (!File.Exists(stamp) || await File.ReadAllTextAsync(stamp) != lockHash)
            {
                var result = await ProcessRunner.RunAsync(Tools.Npm, ["ci", "--no-audit", "--no-fund"], TimeSpan.FromMinutes(5), dir);
                if (result.ExitCode != 0)
                {
                    throw new InvalidOperationException($"npm ci failed in {dir}:\n{result}");
                }

                await File.WriteAllTextAsync(stamp, lockHash);
            }

            s_installed = true;
        }
        finally
        {
            InstallGate.Release();
        }
    }

    /// <summary>Starts greeter-server.js answering with <paramref name="name"/>, on a free port.</summary>
    public static async Task<NodeServer> StartGreeterAsync(string name)
    {
        await EnsureInstalledAsync();
        var child = ChildProcess.Start(Tools.Node, [Path.Combine(Folder, "greeter-server.js"), "--name", name, "--port", "0"], Folder);
        try
        {
            var line = await child.WaitForStdoutLineAsync(l => l.StartsWith("listening ", StringComparison.Ordinal), TimeSpan.FromSeconds(20));
            return new NodeServer(child, int.Parse(line["listening ".Length..], CultureInfo.InvariantCulture));
        }
        catch
        {
            child.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A proxyless client of <c>xds:///SERVICE</c>: @grpc/grpc-js-xds bootstrapped (through
    /// GRPC_XDS_BOOTSTRAP_CONFIG) to the control plane at <paramref name="xdsAddress"/>, with
    /// its xDS client and resolver traced to stderr so a rejection is visible.
    /// </summary>
    public static async Task<GreeterClient> StartXdsClientAsync(string service, string xdsAddress, string nodeId)
    {
        await EnsureInstalledAsync();
        var bootstrap = JsonSerializer.Serialize(new
        {
            xds_servers = new[] { new { server_uri = xdsAddress, channel_creds = new[] { new { type = "insecure" } }, server_features = new[] { "xds_v3" } } },
            node = new { id = nodeId, cluster = "e2e-proxyless", locality = new { zone = "z" } },
        });
        var environment = new Dictionary<string, string>
        {
            ["GRPC_XDS_BOOTSTRAP_CONFIG"] = bootstrap,
            ["GRPC_TRACE"] = "xds_client,xds_resolver",
            ["GRPC_VERBOSITY"] = "DEBUG",
        };
        return await GreeterClient.StartAsync(Folder, [$"xds:///{service}", "--xds"], environment);
    }

    /// <summary>A plain @grpc/grpc-js client of HOST:PORT (for example a Herald gateway).</summary>
    public static async Task<GreeterClient> StartPlainClientAsync(string target)
    {
        await EnsureInstalledAsync();
        return await GreeterClient.StartAsync(Folder, [target], new Dictionary<string, string>());
    }

    private static async Task<FileStream> AcquireFileLockAsync(string path, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }
    }
}
