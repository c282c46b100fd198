using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Herald.Tests.TestSupport.EndToEnd;

namespace Herald.Tests.Xds.Grpc;

/// <summary>
/// The @grpc/grpc-js peers in tests/Herald.Tests/Xds/Grpc/node (their own package.json and
/// lock file). <c>npm ci</c> runs when node_modules does not match the lock file, under a
/// machine-wide file lock. A missing node or npm fails the test.
/// </summary>
internal static class NodeGrpcPeer
{
    private static readonly SemaphoreSlim InstallGate = new(1, 1);
    private static bool s_installed;

    public static string Folder => Path.Combine(RepoPaths.Root, "tests", "Herald.Tests", "Xds", "Grpc", "node");

    /// <summary>Starts server.js on a free port; returns it with its port.</summary>
    public static async Task<(ChildProcess Process, int Port)> StartServerAsync()
    {
        await EnsureInstalledAsync();
        var child = ChildProcess.Start(Tools.Node, [Path.Combine(Folder, "server.js"), "--port", "0"], Folder);
        try
        {
            var line = await child.WaitForStdoutLineAsync(l => l.StartsWith("listening ", StringComparison.Ordinal), TimeSpan.FromSeconds(20));
            return (child, int.Parse(line["listening ".Length..], CultureInfo.InvariantCulture));
        }
        catch
        {
            child.Dispose();
            throw;
        }
    }

    /// <summary>Runs client.js against HOST:PORT; returns its JSON report.</summary>
    public static async Task<JsonElement> RunClientAsync(string target)
    {
        await EnsureInstalledAsync();
        var result = await ProcessRunner.RunAsync(
            Tools.Node,
            [Path.Combine(Folder, "client.js"), "--target", target, "--timeout-ms", "20000"],
            TimeSpan.FromSeconds(30),
            Folder);
        var lastLine = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault();
        if (result.ExitCode != 0 || lastLine is null || !lastLine.StartsWith('{'))
        {
            throw new InvalidOperationException($"client.js failed:\n{result}");
        }

        return JsonDocument.Parse(lastLine).RootElement.Clone();
    }

    private static async Task EnsureInstalledAsync()
    {
        await InstallGate.WaitAsync();
        try
        {
            if (s_installed)
            {
                return;
            }

            var lockHash = Convert.ToHexString(SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(Folder, "package-lock.json"))));
            var stamp = Path.Combine(Folder, "node_modules", ".herald-lock-sha256");
            using (await LockFileAsync(Path.Combine(Path.GetTempPath(), $"herald-grpc-npm-{lockHash[..16]}.lock")))
            {
                if (!File.Exists(stamp) || await File.ReadAllTextAsync(stamp) != lockHash)
                {
                    var result = await ProcessRunner.RunAsync(Tools.Npm, ["ci", "--no-audit", "--no-fund"], TimeSpan.FromMinutes(5), Folder);
                    if (result.ExitCode != 0)
                    {
                        throw new InvalidOperationException($"npm ci failed in {Folder}:\n{result}");
                    }

                    await File.WriteAllTextAsync(stamp, lockHash);
                }
            }

            s_installed = true;
        }
        finally
        {
            InstallGate.Release();
        }
    }

    private static async Task<FileStream> LockFileAsync(string path)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (!timeout.IsCancellationRequested)
            {
                await Task.Delay(200);
            }
        }
    }
}
