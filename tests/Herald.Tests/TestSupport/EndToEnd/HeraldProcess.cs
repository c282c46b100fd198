using System.Globalization;
using System.Net;

namespace Herald.Tests.TestSupport.EndToEnd;

/// <summary>
/// A real <c>herald proxy</c> process on a bootstrap written to a temp file, with its admin
/// endpoint on a free port. Runs <c>dotnet herald.dll</c> from the test output (the test project
/// references the proxy), or the executable named by HERALD_BIN. Killed on dispose.
/// </summary>
public sealed class HeraldProcess : IAsyncDisposable
{
    public static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(15);

    private readonly ChildProcess _child;
    private readonly DirectoryInfo _dir;

    private HeraldProcess(ChildProcess child, DirectoryInfo dir, BootstrapBuilder bootstrap, int adminPort)
    {
        _child = child;
        _dir = dir;
        Bootstrap = bootstrap;
        AdminPort = adminPort;
        Admin = new HttpClient(new SocketsHttpHandler { UseProxy = false })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{adminPort}/"),
            Timeout = TimeSpan.FromSeconds(10),
        };
    }

    public BootstrapBuilder Bootstrap { get; }

    public int AdminPort { get; }

    /// <summary>Client of the admin endpoint (base address http://127.0.0.1:ADMIN/).</summary>
    public HttpClient Admin { get; }

    public int Pid => _child.Id;

    public bool HasExited => _child.HasExited;

    public string Stdout => _child.Stdout;

    public string Stderr => _child.Stderr;

    public int ListenerPort(string listener) => Bootstrap.ListenerPort(listener);

    /// <summary>http://127.0.0.1:PORT of a listener, no trailing slash.</summary>
    public string ListenerUrl(string listener) => $"http://127.0.0.1:{ListenerPort(listener)}";

    /// <summary>
    /// Starts herald on the bootstrap the factory builds and waits for GET /ready to answer 200.
    /// If herald exits because a port was taken meanwhile, the factory is called once more
    /// (new free ports) and herald started again.
    /// </summary>
    public static Task<HeraldProcess> StartAsync(Func<BootstrapBuilder> bootstrap) => StartAsync(bootstrap, []);

    /// <summary>As <see cref="StartAsync(Func{BootstrapBuilder})"/>, with more options for <c>herald proxy</c> (e.g. <c>--drain-time-s 5</c>).</summary>
    public static Task<HeraldProcess> StartAsync(Func<BootstrapBuilder> bootstrap, IReadOnlyList<string> extraArgs) =>
        StartAsync(bootstrap, extraArgs, executable: null);

    /// <summary>
    /// As <see cref="StartAsync(Func{BootstrapBuilder}, IReadOnlyList{string})"/>, running <paramref name="executable"/>
    /// (a published herald) when given, with <paramref name="environment"/> added to its environment.
    /// </summary>
    public static async Task<HeraldProcess> StartAsync(
        Func<BootstrapBuilder> bootstrap, IReadOnlyList<string> extraArgs, string? executable, IReadOnlyDictionary<string, string>? environment = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            var builder = bootstrap();
            var dir = Directory.CreateTempSubdirectory("herald-e2e-");
            var file = Path.Combine(dir.FullName, "bootstrap.yaml");
            await File.WriteAllTextAsync(file, builder.ToYaml());
            var adminPort = FreePort.Next();
            var child = Launch(file, adminPort, extraArgs, executable, environment);
            var herald = new HeraldProcess(child, dir, builder, adminPort);
            try
            {
                await herald.WaitReadyAsync();
                return herald;
            }
            catch (Exception) when (attempt == 1 && herald.HasExited && LooksLikeBindConflict(herald.Stderr))
            {
                await herald.DisposeAsync();
            }
            catch
            {
                await herald.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>
    /// Runs herald on a bootstrap expected to be rejected, and returns when it exits. Kills it
    /// and throws if it is still running after <paramref name="timeout"/> (for example, it started).
    /// </summary>
    public static async Task<ProcessResult> RunToExitAsync(string bootstrapText, TimeSpan timeout, string fileName = "bootstrap.yaml")
    {
        var dir = Directory.CreateTempSubdirectory("herald-e2e-");
        try
        {
            var file = Path.Combine(dir.FullName, fileName);
            await File.WriteAllTextAsync(file, bootstrapText);
            using var child = Launch(file, FreePort.Next(), [], executable: null, environment: null);
            var exitCode = await child.WaitForExitAsync(timeout);
            return new ProcessResult(child.Description, exitCode, child.Stdout, child.Stderr);
        }
        finally
        {
            TryDelete(dir);
        }
    }

    /// <summary>GET an admin path; throws on a non-2xx answer.</summary>
    public async Task<string> GetAdminAsync(string path)
    {
        using var response = await Admin.GetAsync(path.TrimStart('/'));
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"admin GET {path}: {(int)response.StatusCode}\n{body}");
        }

        return body;
    }

    /// <summary>/stats as name -> value text (histograms keep their summary text).</summary>
    public async Task<IReadOnlyDictionary<string, string>> GetStatsAsync()
    {
        return ParseStatsText(await GetAdminAsync("/stats"));
    }

    /// <summary>The admin /stats text format ("name: value" lines) as name -> value text.</summary>
    public static IReadOnlyDictionary<string, string> ParseStatsText(string text)
    {
        var stats = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            var colon = line.IndexOf(": ", StringComparison.Ordinal);
            if (colon > 0)
            {
                stats[line[..colon].Trim()] = line[(colon + 2)..].Trim();
            }
        }

        return stats;
    }

    /// <summary>A counter or gauge from /stats; throws, listing what exists, if it is missing.</summary>
    public async Task<long> GetStatAsync(string name)
    {
        var stats = await GetStatsAsync();
        return ParseStat(stats, name);
    }

    /// <summary>Polls /stats until <paramref name="condition"/> holds for the stat (stats may lag the response).</summary>
    public async Task<long> WaitForStatAsync(string name, Func<long, bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(5));
        while (true)
        {
            var stats = await GetStatsAsync();
            long? value = stats.ContainsKey(name) ? ParseStat(stats, name) : null;
            if (value is { } v && condition(v))
            {
                return v;
            }

            if (DateTime.UtcNow > deadline)
            {
                return value ?? ParseStat(stats, name);
            }

            await Task.Delay(50);
        }
    }

    /// <summary>A field of /proc/PID/status in kB, e.g. "VmRSS" or "VmHWM".</summary>
    public long ReadProcStatusKb(string field)
    {
        foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                var value = line[(field.Length + 1)..].Trim();
                return long.Parse(value.Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"/proc/{Pid}/status has no {field}");
    }

    /// <summary>Resets VmHWM to the current RSS (writes 5 to /proc/PID/clear_refs); false if not allowed.</summary>
    public bool TryResetPeakRss()
    {
        try
        {
            File.WriteAllText($"/proc/{Pid}/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Sends SIGTERM, as Kubernetes does to stop a pod.</summary>
    public Task TerminateAsync() => ChildProcess.SignalAsync(Pid, "TERM");

    /// <summary>The exit code once herald has exited; throws if it is still running after <paramref name="timeout"/>.</summary>
    public Task<int> WaitForExitAsync(TimeSpan timeout) => _child.WaitForExitAsync(timeout);

    /// <summary>herald's stdout and stderr, for assertion messages.</summary>
    public string Transcript() => _child.Transcript();

    public async ValueTask DisposeAsync()
    {
        Admin.Dispose();
        await _child.DisposeAsync();
        TryDelete(_dir);
    }

    private async Task WaitReadyAsync()
    {
        var deadline = DateTime.UtcNow + ReadyTimeout;
        using var probe = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(2) };
        var url = $"http://127.0.0.1:{AdminPort}/ready";
        string last = "no answer";
        while (DateTime.UtcNow < deadline)
        {
            if (_child.HasExited)
            {
                await _child.WaitForExitAsync(TimeSpan.FromSeconds(5));
                throw new InvalidOperationException(
                    $"herald exited with code {_child.ExitCode} before it was ready.\n{_child.Description}\n" +
                    $"bootstrap:\n{Bootstrap.ToYaml()}\n{_child.Transcript()}");
            }

            try
            {
                using var response = await probe.GetAsync(url);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }

                last = $"{(int)response.StatusCode}";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                last = e.Message;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException(
            $"herald was not ready within {ReadyTimeout} (GET {url}: {last}).\n{_child.Description}\n" +
            $"bootstrap:\n{Bootstrap.ToYaml()}\n{_child.Transcript()}");
    }

    private static ChildProcess Launch(string bootstrapFile, int adminPort, IReadOnlyList<string> extraArgs, string? executable, IReadOnlyDictionary<string, string>? environment)
    {
        string[] proxyArgs = ["proxy", "--bootstrap", bootstrapFile, "--admin", $"127.0.0.1:{adminPort}", .. extraArgs];
        var bin = executable ?? Environment.GetEnvironmentVariable("HERALD_BIN");
        if (!string.IsNullOrEmpty(bin))
        {
            return ChildProcess.Start(bin, proxyArgs, environment: environment);
        }

        var dll = Path.Combine(AppContext.BaseDirectory, "herald.dll");
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException($"{dll} is missing: build the test project (it references proxy/Herald.Proxy.csproj) or set HERALD_BIN.");
        }

        return ChildProcess.Start(Tools.DotnetHost(), [dll, .. proxyArgs], environment: environment);
    }

    private static bool LooksLikeBindConflict(string stderr) =>
        stderr.Contains("address already in use", StringComparison.OrdinalIgnoreCase)
        || stderr.Contains("EADDRINUSE", StringComparison.Ordinal)
        || stderr.Contains("failed to bind", StringComparison.OrdinalIgnoreCase);

    private static long ParseStat(IReadOnlyDictionary<string, string> stats, string name)
    {
        if (!stats.TryGetValue(name, out var text))
        {
            var near = string.Join('\n', stats.Keys.Where(k => k.StartsWith(name.Split('.')[0], StringComparison.Ordinal)).Order().Take(80));
            throw new KeyNotFoundException($"stat '{name}' is not in /stats. Stats with the same root:\n{near}");
        }

        return long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new FormatException($"stat '{name}' is not an integer: '{text}'");
    }

    private static void TryDelete(DirectoryInfo dir)
    {
        try
        {
            dir.Delete(recursive: true);
        }
        catch (IOException)
        {
            // A temp folder left behind is harmless.
        }
    }
}
