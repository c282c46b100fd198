using System.Text;
using Herald.Proxy.Config;
using Herald.Proxy.Inject;
using Herald.Xds.ControlPlane;

namespace Herald.Proxy.Cli;

/// <summary>
/// <c>herald inject -f FILE|- [-o FILE] ...</c>: reads Kubernetes YAML and writes it back with
/// Herald's init container and native sidecar in every pod template. Nothing is written when
/// any document is refused (exit 2, naming the document and the field).
/// </summary>
internal static class InjectCommand
{
    public const string Usage = """
        usage: herald inject -f FILE|- [-o FILE] [flags]

          -f FILE|-                        Kubernetes YAML to read (several documents allowed; - for stdin)
          -o FILE                          where to write (default stdout)
          --image IMAGE                    the sidecar's image (default herald/herald:0.1.0)
          --init-image IMAGE               the init container's image (default herald/herald-init:0.1.0)
          --xds HOST:PORT                  the control plane's ADS address (default herald-control-plane.herald-system.svc:15010)
          --interception REDIRECT|TPROXY   inbound interception mode (default REDIRECT; annotation herald.io/interception-mode)
          --wait-timeout DURATION          how long the postStart hook waits for the proxy (default 60s)
          --delta                          the sidecar uses delta xDS
        """;

    public static Task<int> RunAsync(string[] args) => RunAsync(args, Console.In, Console.Out, Console.Error);

    internal static async Task<int> RunAsync(string[] args, TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        var parsed = CliArguments.Parse(args, ["-f", "-o", "--image", "--init-image", "--xds", "--interception", "--wait-timeout"], ["--delta"], out var error);
        if (parsed is null || parsed["-f"] is null)
        {
            stderr.WriteLine($"herald inject: {error ?? "-f FILE (or -f - for stdin) is required"}\n{Usage}");
            return CommandLine.ExitBadConfig;
        }

        InjectOptions options;
        string input;
        try
        {
            options = Options(parsed);
            input = parsed["-f"] == "-" ? await stdin.ReadToEndAsync().ConfigureAwait(false) : await ReadFileAsync(parsed["-f"]!).ConfigureAwait(false);
        }
        catch (ConfigException e)
        {
            stderr.WriteLine($"herald inject: {e.Message}");
            return CommandLine.ExitBadConfig;
        }

        InjectResult result;
        try
        {
            result = new SidecarInjector(options).Inject(input);
        }
        catch (ConfigException e)
        {
            stderr.WriteLine($"herald inject: {e.Message} (nothing was written)");
            return CommandLine.ExitBadConfig;
        }

        foreach (var note in result.Notes)
        {
            stderr.WriteLine($"herald inject: note: {note}");
        }

        if (parsed["-o"] is { } output && output != "-")
        {
            await File.WriteAllTextAsync(output, result.Text, new UTF8Encoding(false)).ConfigureAwait(false);
        }
        else
        {
            await stdout.WriteAsync(result.Text).ConfigureAwait(false);
            await stdout.FlushAsync().ConfigureAwait(false);
        }

        return CommandLine.ExitOk;
    }

    private static InjectOptions Options(CliArguments parsed)
    {
        var options = new InjectOptions
        {
            Image = NonEmpty(parsed["--image"], "--image") ?? InjectOptions.DefaultImage,
            InitImage = NonEmpty(parsed["--init-image"], "--init-image") ?? InjectOptions.DefaultInitImage,
            Xds = parsed["--xds"] ?? InjectOptions.DefaultXds,
            Interception = SidecarCommand.ParseInterception(parsed["--interception"]) ?? "REDIRECT",
            WaitTimeout = parsed["--wait-timeout"] ?? "60s",
            Delta = parsed.Has("--delta"),
        };

        var colon = options.Xds.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(options.Xds[(colon + 1)..], out var port) || port is < 1 or > 65535)
        {
            throw new ConfigException("--xds", $"'{options.Xds}' is not HOST:PORT", "Give the control plane's address as the pods reach it, for example herald-control-plane.herald-system.svc:15010");
        }

        if (!MeshConfigLoader.TryDuration(options.WaitTimeout, out var wait) || wait <= TimeSpan.Zero)
        {
            throw new ConfigException("--wait-timeout", $"'{options.WaitTimeout}' is not a positive duration", "Give a duration such as 30s or 2m");
        }

        return options;
    }

    private static string? NonEmpty(string? value, string flag) =>
        value is { Length: 0 } ? throw new ConfigException(flag, "is empty", $"Give an image reference to {flag}, for example registry.example/herald:0.1.0") : value;

    private static async Task<string> ReadFileAsync(string path)
    {
        try
        {
            return await File.ReadAllTextAsync(path).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException("-f", $"cannot read '{path}': {e.Message}", "Give a readable file, or - to read stdin");
        }
    }
}
