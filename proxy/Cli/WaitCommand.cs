using System.Globalization;
using System.Net;
using Herald.Proxy.Config;
using Herald.Xds.ControlPlane;

namespace Herald.Proxy.Cli;

/// <summary>
/// <c>herald wait [--admin ADDR] [--timeout 60s]</c>: polls the local sidecar's <c>/ready</c>
/// until it answers 200, so a postStart hook on the sidecar container holds the pod's
/// application containers back until their proxy serves. Exit 0 when ready, 1 on timeout,
/// 2 for bad flags.
/// </summary>
internal static class WaitCommand
{
    public const string Usage = "usage: herald wait [--admin 127.0.0.1:15000] [--timeout 60s] [--interval 200ms]";

    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan DefaultInterval = TimeSpan.FromMilliseconds(200);

    // One probe never waits longer than this, so a hung admin endpoint cannot eat the whole budget in one try.
    private static readonly TimeSpan MaxAttemptTimeout = TimeSpan.FromSeconds(2);

    public static Task<int> RunAsync(string[] args) => RunAsync(args, Console.Out, Console.Error, TimeProvider.System);

    internal static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, TimeProvider time)
    {
        var parsed = CliArguments.Parse(args, ["--admin", "--timeout", "--interval"], [], out var error);
        if (parsed is null)
        {
            stderr.WriteLine($"herald wait: {error}\n{Usage}");
            return CommandLine.ExitBadConfig;
        }

        IPEndPoint admin;
        TimeSpan timeout;
        TimeSpan interval;
        try
        {
            admin = ProxyCommand.ParseAddress(parsed["--admin"] ?? ProxyCommand.DefaultAdmin, "--admin");
            timeout = ParseDuration(parsed["--timeout"], "--timeout", DefaultTimeout);
            interval = ParseDuration(parsed["--interval"], "--interval", DefaultInterval);
        }
        catch (ConfigException e)
        {
            stderr.WriteLine($"herald wait: {e.Message}");
            return CommandLine.ExitBadConfig;
        }

        var outcome = await WaitReadyAsync(admin, timeout, interval, time).ConfigureAwait(false);
        if (outcome.Ready)
        {
            stdout.WriteLine($"herald wait: {admin} is ready");
            return CommandLine.ExitOk;
        }

        stderr.WriteLine(
            $"herald wait: the proxy's admin endpoint http://{admin}/ready was not ready within {Format(timeout)} ({outcome.Attempts} attempts; last: {outcome.Last}). " +
            "Check that the sidecar runs and reaches its control plane, or give a longer --timeout.");
        return CommandLine.ExitFailure;
    }

    /// <summary>Polls GET /ready until 200 or the deadline; the outcome says how the last attempt went.</summary>
    internal static async Task<WaitOutcome> WaitReadyAsync(IPEndPoint admin, TimeSpan timeout, TimeSpan interval, TimeProvider time)
    {
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, ConnectTimeout = MaxAttemptTimeout })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        var uri = new Uri($"http://{admin}/ready");
        var start = time.GetTimestamp();
        var attempts = 0;
        var last = "no attempt";
        while (true)
        {
            var remaining = timeout - time.GetElapsedTime(start);
            if (remaining <= TimeSpan.Zero && attempts > 0)
            {
                return new WaitOutcome(false, attempts, last);
            }

            attempts++;
            using (var attempt = new CancellationTokenSource(Min(MaxAttemptTimeout, Max(remaining, TimeSpan.FromMilliseconds(100))), time))
            {
                try
                {
                    using var response = await client.GetAsync(uri, attempt.Token).ConfigureAwait(false);
                    var body = (await response.Content.ReadAsStringAsync(attempt.Token).ConfigureAwait(false)).Trim();
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        return new WaitOutcome(true, attempts, $"200 {body}");
                    }

                    last = string.Create(CultureInfo.InvariantCulture, $"{(int)response.StatusCode} {body}");
                }
                catch (OperationCanceledException)
                {
                    last = "no answer within the attempt's timeout";
                }
                catch (HttpRequestException e)
                {
                    last = e.InnerException?.Message ?? e.Message;
                }
            }

            remaining = timeout - time.GetElapsedTime(start);
            if (remaining <= TimeSpan.Zero)
            {
                return new WaitOutcome(false, attempts, last);
            }

            await Task.Delay(Min(interval, remaining), time).ConfigureAwait(false);
        }
    }

    private static TimeSpan ParseDuration(string? text, string flag, TimeSpan fallback)
    {
        if (text is null)
        {
            return fallback;
        }

        if (!MeshConfigLoader.TryDuration(text, out var value) || value <= TimeSpan.Zero)
        {
            throw new ConfigException(flag, $"'{text}' is not a positive duration", $"Give {flag} like 500ms, 30s or 2m");
        }

        return value;
    }

    private static string Format(TimeSpan value) =>
        value.TotalSeconds >= 1 ? string.Create(CultureInfo.InvariantCulture, $"{value.TotalSeconds:0.###}s") : string.Create(CultureInfo.InvariantCulture, $"{value.TotalMilliseconds:0}ms");

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    internal readonly record struct WaitOutcome(bool Ready, int Attempts, string Last);
}
