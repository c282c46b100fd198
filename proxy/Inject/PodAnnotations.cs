using System.Text.RegularExpressions;
using Herald.Iptables;
using Herald.Proxy.Config;
using YamlDotNet.RepresentationModel;

namespace Herald.Proxy.Inject;

/// <summary>
/// The pod annotations <c>herald inject</c> honours: Herald's own (<c>herald.io/...</c>) and,
/// where Herald has no value, Istio's equivalents, so manifests written for Istio keep their
/// exclusions. Values are checked as <c>herald iptables</c> checks its flags.
/// </summary>
internal sealed partial class PodAnnotations
{
    public const string Inject = "herald.io/inject";
    public const string IstioInject = "sidecar.istio.io/inject";

    /// <summary>(Herald's annotation, Istio's annotation, the <c>herald iptables</c> flag it becomes), in flag order.</summary>
    public static readonly (string Herald, string Istio, string Flag)[] Interception =
    [
        ("herald.io/include-inbound-ports", "traffic.sidecar.istio.io/includeInboundPorts", "--include-inbound-ports"),
        ("herald.io/exclude-inbound-ports", "traffic.sidecar.istio.io/excludeInboundPorts", "--exclude-inbound-ports"),
        ("herald.io/exclude-outbound-ports", "traffic.sidecar.istio.io/excludeOutboundPorts", "--exclude-outbound-ports"),
        ("herald.io/include-outbound-ip-ranges", "traffic.sidecar.istio.io/includeOutboundIPRanges", "--include-outbound-cidrs"),
        ("herald.io/exclude-outbound-ip-ranges", "traffic.sidecar.istio.io/excludeOutboundIPRanges", "--exclude-outbound-cidrs"),
    ];

    public static readonly (string Herald, string Istio) InterceptionMode = ("herald.io/interception-mode", "sidecar.istio.io/interceptionMode");
    public static readonly (string Herald, string Istio) ProxyCpu = ("herald.io/proxy-cpu", "sidecar.istio.io/proxyCPU");
    public static readonly (string Herald, string Istio) ProxyMemory = ("herald.io/proxy-memory", "sidecar.istio.io/proxyMemory");
    public static readonly (string Herald, string Istio) ProxyCpuLimit = ("herald.io/proxy-cpu-limit", "sidecar.istio.io/proxyCPULimit");
    public static readonly (string Herald, string Istio) ProxyMemoryLimit = ("herald.io/proxy-memory-limit", "sidecar.istio.io/proxyMemoryLimit");
    public const string Workload = "herald.io/workload";
    public const string Service = "herald.io/service";

    private readonly YamlMappingNode? _annotations;
    private readonly YamlMappingNode? _labels;
    private readonly string _path;

    public PodAnnotations(YamlMappingNode? podMetadata, string metadataPath)
    {
        _annotations = podMetadata is null ? null : YamlNodes.Child(podMetadata, "annotations") as YamlMappingNode;
        _labels = podMetadata is null ? null : YamlNodes.Child(podMetadata, "labels") as YamlMappingNode;
        _path = metadataPath;
    }

    /// <summary>
    /// The key that opts the pod out (<c>herald.io/inject: "false"</c>, or Istio's key, as an
    /// annotation or a label), else null. Herald's key decides when both are set.
    /// </summary>
    public string? OptOutKey
    {
        get
        {
            foreach (var key in new[] { Inject, IstioInject })
            {
                if ((Get(_annotations, key) ?? Get(_labels, key)) is { } value)
                {
                    return string.Equals(value.Trim(), "false", StringComparison.OrdinalIgnoreCase) ? key : null;
                }
            }

            return null;
        }
    }

    public string? Label(string key) => Get(_labels, key);

    public string? WorkloadName => Get(_annotations, Workload);

    public string? ServiceName => Get(_annotations, Service);

    /// <summary>The <c>herald iptables install</c> flags the annotations ask for, each checked alone so an error names its annotation.</summary>
    public IReadOnlyList<string> InterceptionFlags()
    {
        var flags = new List<string>();
        foreach (var (herald, istio, flag) in Interception)
        {
            var (name, value) = Find(herald, istio);
            if (value is null)
            {
                continue;
            }

            value = value.Replace(" ", string.Empty, StringComparison.Ordinal);
            try
            {
                InterceptionOptionsParser.Parse([flag, value]);
            }
            catch (InterceptionUsageException e)
            {
                throw new ConfigException(AnnotationPath(name), $"'{value}' is not valid for {flag}: {e.Message}", "Give a comma-separated list of ports (or CIDRs for ip-ranges), or \"*\" where the flag takes it");
            }

            flags.Add(flag);
            flags.Add(value);
        }

        return flags;
    }

    /// <summary>The pod's interception mode (<c>REDIRECT</c> or <c>TPROXY</c>), else the given default.</summary>
    public string Mode(string fallback)
    {
        var (name, value) = Find(InterceptionMode.Herald, InterceptionMode.Istio);
        if (value is null)
        {
            return fallback;
        }

        var upper = value.Trim().ToUpperInvariant();
        if (upper is not ("REDIRECT" or "TPROXY"))
        {
            throw new ConfigException(AnnotationPath(name), $"'{value}' is not REDIRECT or TPROXY", "Set the annotation to REDIRECT or TPROXY, or remove it to use --interception");
        }

        return upper;
    }

    /// <summary>A resource quantity from the annotation pair, else the fallback.</summary>
    public string Quantity((string Herald, string Istio) keys, string fallback)
    {
        var (name, value) = Find(keys.Herald, keys.Istio);
        if (value is null)
        {
            return fallback;
        }

        if (!QuantityPattern().IsMatch(value.Trim()))
        {
            throw new ConfigException(AnnotationPath(name), $"'{value}' is not a Kubernetes quantity", "Give a quantity such as 100m or 0.5 (CPU), 128Mi or 1Gi (memory)");
        }

        return value.Trim();
    }

    private (string Name, string? Value) Find(string herald, string istio)
    {
        var value = Get(_annotations, herald);
        return value is not null ? (herald, value) : (istio, Get(_annotations, istio));
    }

    private string AnnotationPath(string name) => $"{_path}.annotations[\"{name}\"]";

    private static string? Get(YamlMappingNode? map, string key) => map is null ? null : YamlNodes.Text(map, key);

    [GeneratedRegex(@"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$", RegexOptions.CultureInvariant)]
    private static partial Regex QuantityPattern();
}
