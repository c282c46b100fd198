using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace Herald.Benchmarks;

/// <summary>
/// <c>--activation --e2e</c>: a real <c>herald gateway</c> (embedded control plane) in front of
/// services with no instance. Per trial, one request to a fresh cold service is held; then the
/// bench registers an in-process Kestrel upstream through the registry API and times the PUT to
/// the held request's response at the client: registry, snapshot, in-process ADS, EDS apply,
/// gate release, upstream connect and forward. Two warm-up trials are not counted.
/// </summary>
internal static class ActivationEndToEndBench
{
    private const int WarmUp = 2;
    private const int FirstServicePort = 9000;
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(20);

    public static async Task RunAsync(int trials, string? heraldPath, List<string[]> table)
    {
        const string Label = "(d) registration PUT to the held request's response, herald gateway";
        var herald = FindHerald(heraldPath);
        if (herald is null)
        {
            table.Add([Label, "not run", "no built herald executable: build proxy (Release or Debug) or pass --herald PATH"]);
            return;
        }

        var services = trials + WarmUp;
        await using var upstream = await StartUpstreamAsync();
        var gatewayPort = FreePort();
        var apiPort = FreePort();
        var adminPort = FreePort();
        var dir = Directory.CreateTempSubdirectory("herald-activation-bench-");
        var meshPath = Path.Combine(dir.FullName, "mesh.yaml");
        await File.WriteAllTextAsync(meshPath, MeshYaml(services, gatewayPort));
        var start = new ProcessStartInfo(herald)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "gateway", "--config", meshPath, "--api", $"127.0.0.1:{apiPort}", "--admin", $"127.0.0.1:{adminPort}" })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {herald}");
        var log = new StringBuilder();
        process.OutputDataReceived += (_, e) => Append(log, e.Data);
        process.ErrorDataReceived += (_, e) => Append(log, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(30) };
        try
        {
            await WaitReadyAsync(http, adminPort, gatewayPort, process, log);
            var total = new List<double>(trials);
            var put = new List<double>(trials);
            for (var i = 0; i < services; i++)
            {
                var cluster = $"outbound|{FirstServicePort + i}||cold{i}";
                var pending = http.GetAsync($"http://127.0.0.1:{gatewayPort}/c{i}/x");
                await WaitHeldAsync(http, adminPort, cluster, pending, log);
                var began = Stopwatch.GetTimestamp();
                var body = $$"""{"service":"cold{{i}}","address":"127.0.0.1","port":{{upstream.Port}},"version":"1.0.0","ttl_seconds":600}""";
                using (var content = new StringContent(body, Encoding.UTF8, "application/json"))
                using (var registered = await http.PutAsync($"http://127.0.0.1:{apiPort}/v1/registry/instances", content))
                {
                    registered.EnsureSuccessStatusCode();
                }

                var putDone = Stopwatch.GetElapsedTime(began);
                using var response = await pending.WaitAsync(StepTimeout);
                var elapsed = Stopwatch.GetElapsedTime(began);
                var text = await response.Content.ReadAsStringAsync();
                if (response.StatusCode != HttpStatusCode.OK || text != "ok")
                {
                    throw new InvalidOperationException($"cold{i}: {(int)response.StatusCode} '{text}'\n{log}");
                }

                if (i >= WarmUp)
                {
                    total.Add(elapsed.TotalMilliseconds);
                    put.Add(putDone.TotalMilliseconds);
                }
            }

            table.Add([
                Label,
                $"{trials} trials, 1 held request each, fresh cold service per trial",
                $"p50 {ActivationBench.F(ActivationBench.Percentile(total, 50), 1)} ms, max {ActivationBench.F(total.Max(), 1)} ms "
                    + $"(the PUT itself: p50 {ActivationBench.F(ActivationBench.Percentile(put, 50), 1)} ms)",
            ]);
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or HttpRequestException)
        {
            table.Add([Label, "failed", e.Message.Split('\n')[0].Replace('|', '/')]);
            Console.Error.WriteLine(e);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }

            dir.Delete(recursive: true);
        }
    }

    private static void Append(StringBuilder log, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            log.Append(line).Append('\n');
        }
    }

    private static string MeshYaml(int services, int gatewayPort)
    {
        var text = new StringBuilder("services:\n");
        for (var i = 0; i < services; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"  - name: cold{i}\n    ports: [{{port: {FirstServicePort + i}, protocol: http}}]\n    activation: {{hold_timeout: 30s}}\n");
        }

        text.Append(CultureInfo.InvariantCulture, $"gateways:\n  - name: edge\n    port: {gatewayPort}\n    hosts: [\"*\"]\n    routes:\n");
        for (var i = 0; i < services; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"      - match: {{path: {{prefix: /c{i}/}}}}\n        service: cold{i}\n");
        }

        return text.ToString();
    }

    private static async Task WaitReadyAsync(HttpClient http, int adminPort, int gatewayPort, Process process, StringBuilder log)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(30 * Stopwatch.Frequency);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"herald exited with code {process.ExitCode}\n{log}");
            }

            try
            {
                using var ready = await http.GetAsync($"http://127.0.0.1:{adminPort}/ready");
                if (ready.StatusCode == HttpStatusCode.OK)
                {
                    using var probe = new TcpClient();
                    await probe.ConnectAsync(IPAddress.Loopback, gatewayPort).WaitAsync(TimeSpan.FromSeconds(5));
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or SocketException or TaskCanceledException)
            {
                // Not up yet.
            }

            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"herald gateway was not ready within 30 s\n{log}");
            }

            await Task.Delay(50);
        }
    }

    private static async Task WaitHeldAsync(HttpClient http, int adminPort, string cluster, Task pending, StringBuilder log)
    {
        var name = $"cluster.{cluster}.activation.held: ";
        var deadline = Stopwatch.GetTimestamp() + (long)(StepTimeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            if (pending.IsCompleted)
            {
                throw new InvalidOperationException($"the request to {cluster} ended before it was held: {pending.Status}\n{log}");
            }

            var stats = await http.GetStringAsync($"http://127.0.0.1:{adminPort}/stats");
            if (stats.Split('\n').Any(l => l == name + "1"))
            {
                return;
            }

            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"{cluster} never held the request\n{log}");
            }

            await Task.Delay(20);
        }
    }

    private static async Task<Upstream> StartUpstreamAsync()
    {
        ListenOptions? listen = null;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(options => options.Listen(IPAddress.Loopback, 0, o =>
        {
            o.Protocols = HttpProtocols.Http1;
            listen = o;
        }));
        var app = builder.Build();
        app.Run(context => context.Response.WriteAsync("ok"));
        await app.StartAsync();
        return new Upstream(app, listen!.IPEndPoint!.Port);
    }

    /// <summary>The herald executable built next to this repository (Release first), or the given path.</summary>
    private static string? FindHerald(string? path)
    {
        if (path is not null)
        {
            return File.Exists(path) ? path : null;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Herald.slnx")))
            {
                string[] candidates =
                [
                    Path.Combine(dir.FullName, "proxy/bin/Release/net10.0/linux-x64/herald"),
                    Path.Combine(dir.FullName, "proxy/bin/Debug/net10.0/herald"),
                ];
                return candidates.FirstOrDefault(File.Exists);
            }
        }

        return null;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed class Upstream(WebApplication app, int port) : IAsyncDisposable
    {
        public int Port { get; } = port;

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
