using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;

namespace Herald.Tests.TestSupport.EndToEnd;

/// <summary>
/// The Node peers in tests/Herald.Tests/EndToEnd/node: @grpc/grpc-js server and client, ws
/// server and client. <c>npm ci</c> runs once per lock file, under a file lock, when the
/// installed packages do not match package-lock.json.
/// </summary>
public static class NodePeers
{
    private static readonly SemaphoreSlim InstallGate = new(1, 1);
    private static bool s_installed;

    /// <summary>Runs <c>npm ci</c> if node_modules is missing or older than package-lock.json.</summary>
    public static async Task EnsureInstalledAsync()
    {
        await InstallGate.WaitAsync();
        try
        {
            if (s_installed)
            {
                return;
            }

            var dir = RepoPaths.NodePeers;
            var lockHash = Convert.ToHexString(SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(dir, "package-lock.json"))));
            var stamp = Path.Combine(dir, "node_modules", ".herald-lock-sha256");

            // Another test run may be installing into the same folder: take a machine-wide lock.
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

    /// <summary>Starts grpc-server.js on a free port.</summary>
    public static Task<NodeServer> StartGrpcServerAsync() => StartServerAsync("grpc-server.js");

    /// <summary>Starts ws-server.js on a free port.</summary>
    public static Task<NodeServer> StartWsServerAsync() => StartServerAsync("ws-server.js");

    /// <summary>Runs grpc-client.js against <paramref name="target"/> (HOST:PORT).</summary>
    public static Task<NodeClientResult> RunGrpcClientAsync(string target, TimeSpan? timeout = null) =>
        RunClientAsync("grpc-client.js", ["--target", target], timeout ?? TimeSpan.FromSeconds(30));

    /// <summary>Runs ws-client.js against <paramref name="url"/> (ws://HOST:PORT/PATH).</summary>
    public static Task<NodeClientResult> RunWsClientAsync(string url, TimeSpan? timeout = null) =>
        RunClientAsync("ws-client.js", ["--url", url], timeout ?? TimeSpan.FromSeconds(30));

    private static async Task<NodeServer> StartServerAsync(string script)
    {
        await EnsureInstalledAsync();
        var child = ChildProcess.Start(Tools.Node, [Path.Combine(RepoPaths.NodePeers, script), "--port", "0"], RepoPaths.NodePeers);
        try
        {
            var line = await child.WaitForStdoutLineAsync(l => l.StartsWith("listening ", StringComparison.Ordinal), TimeSpan.FromSeconds(20));
            var port = int.Parse(line["listening ".Length..], CultureInfo.InvariantCulture);
            return new NodeServer(child, port);
        }
        catch
        {
            child.Dispose();
            throw;
        }
    }

    private static async Task<NodeClientResult> RunClientAsync(string script, string[] args, TimeSpan timeout)
    {
        await EnsureInstalledAsync();
        // The script's own timeout is shorter than ours, so it reports what it saw.
        var scriptTimeoutMs = (int)Math.Max(1000, timeout.TotalMilliseconds - 5000);
        var result = await ProcessRunner.RunAsync(
            Tools.Node,
            [Path.Combine(RepoPaths.NodePeers, script), .. args, "--timeout-ms", scriptTimeoutMs.ToString(CultureInfo.InvariantCulture)],
            timeout,
            RepoPaths.NodePeers);
        return NodeClientResult.FromProcess(result);
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
