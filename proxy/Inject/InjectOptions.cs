namespace Herald.Proxy.Inject;

/// <summary>What <c>herald inject</c> puts into every pod it injects; the CLI flags, with Istio-like defaults.</summary>
internal sealed record InjectOptions
{
    public const string DefaultImage = "herald/herald:0.1.0";
    public const string DefaultInitImage = "herald/herald-init:0.1.0";
    public const string DefaultXds = "herald-control-plane.herald-system.svc:15010";

    /// <summary>Where the images put the executable; the probes and hooks call it by this path.</summary>
    public const string Executable = "/usr/local/bin/herald";

    public string Image { get; init; } = DefaultImage;

    public string InitImage { get; init; } = DefaultInitImage;

    /// <summary>The control plane's ADS address, HOST:PORT.</summary>
    public string Xds { get; init; } = DefaultXds;

    /// <summary><c>REDIRECT</c> or <c>TPROXY</c>; a pod's <c>herald.io/interception-mode</c> overrides it.</summary>
    public string Interception { get; init; } = "REDIRECT";

    /// <summary>How long the sidecar's postStart hook waits for <c>/ready</c> before the pod start fails.</summary>
    public string WaitTimeout { get; init; } = "60s";

    /// <summary>Ask for delta xDS instead of state of the world.</summary>
    public bool Delta { get; init; }

    /// <summary>Resources of the sidecar container: requests and limits (Kubernetes quantities).</summary>
    public string ProxyCpu { get; init; } = "100m";

    public string ProxyMemory { get; init; } = "64Mi";

    public string ProxyCpuLimit { get; init; } = "1";

    public string ProxyMemoryLimit { get; init; } = "256Mi";
}
