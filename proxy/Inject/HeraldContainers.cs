using YamlDotNet.RepresentationModel;
using static Herald.Proxy.Inject.YamlNodes;

namespace Herald.Proxy.Inject;

/// <summary>
/// The two containers <c>herald inject</c> adds to a pod: <c>herald-init</c>, which installs
/// the interception rules and exits, and <c>herald-proxy</c>, a native sidecar (an init
/// container with <c>restartPolicy: Always</c>) whose postStart hook holds the application
/// containers back until the proxy is ready.
/// </summary>
internal static class HeraldContainers
{
    public const string InitName = "herald-init";
    public const string ProxyName = "herald-proxy";

    /// <summary>Istio's proxy user and group; <c>herald iptables</c> never captures their traffic.</summary>
    public const int ProxyUid = 1337;

    public static YamlMappingNode Init(InjectOptions options, string mode, IReadOnlyList<string> interceptionFlags)
    {
        List<string> args = ["iptables", "install", "--inbound-mode", mode, .. interceptionFlags];
        return Map(
            ("name", String(InitName)),
            ("image", String(options.InitImage)),
            ("args", Strings(args)),
            ("securityContext", Map(
                ("runAsUser", Int(0)),
                ("runAsGroup", Int(0)),
                ("runAsNonRoot", Bool(false)),
                ("allowPrivilegeEscalation", Bool(false)),
                ("privileged", Bool(false)),
                // iptables-legacy takes its lock in /run, so this one root filesystem stays writable.
                ("readOnlyRootFilesystem", Bool(false)),
                ("capabilities", Map(("add", Strings(["NET_ADMIN", "NET_RAW"])), ("drop", Strings(["ALL"])))))),
            ("resources", Resources("10m", "32Mi", "500m", "128Mi")));
    }

    public static YamlMappingNode Proxy(InjectOptions options, string mode, string workload, string? service, PodAnnotations annotations)
    {
        List<string> args = ["sidecar", "--xds", options.Xds, "--node-id", "$(POD_NAME).$(POD_NAMESPACE)", "--cluster", workload];
        if (service is not null)
        {
            args.AddRange(["--service", service]);
        }

        args.AddRange(["--interception", mode]);
        if (options.Delta)
        {
            args.Add("--delta");
        }

        // TPROXY's inbound listener binds with IP_TRANSPARENT, which needs NET_ADMIN.
        var capabilities = mode == "TPROXY"
            ? Map(("add", Strings(["NET_ADMIN"])), ("drop", Strings(["ALL"])))
            : Map(("drop", Strings(["ALL"])));
        return Map(
            ("name", String(ProxyName)),
            ("image", String(options.Image)),
            ("restartPolicy", String("Always")),
            ("args", Strings(args)),
            ("env", new YamlSequenceNode(FieldEnv("POD_NAME", "metadata.name"), FieldEnv("POD_NAMESPACE", "metadata.namespace"))),
            ("lifecycle", Map(("postStart", Exec([InjectOptions.Executable, "wait", "--timeout", options.WaitTimeout])))),
            ("readinessProbe", ReadinessProbe()),
            ("securityContext", Map(
                ("runAsUser", Int(ProxyUid)),
                ("runAsGroup", Int(ProxyUid)),
                ("runAsNonRoot", Bool(true)),
                ("allowPrivilegeEscalation", Bool(false)),
                ("readOnlyRootFilesystem", Bool(true)),
                ("capabilities", capabilities))),
            ("resources", Resources(
                annotations.Quantity(PodAnnotations.ProxyCpu, options.ProxyCpu),
                annotations.Quantity(PodAnnotations.ProxyMemory, options.ProxyMemory),
                annotations.Quantity(PodAnnotations.ProxyCpuLimit, options.ProxyCpuLimit),
                annotations.Quantity(PodAnnotations.ProxyMemoryLimit, options.ProxyMemoryLimit))));
    }

    // The admin endpoint listens on loopback only (it can stop the process), which the kubelet
    // cannot reach from the node, so the probe runs `herald wait` inside the container.
    private static YamlMappingNode ReadinessProbe() => Map(
        ("exec", Map(("command", Strings([InjectOptions.Executable, "wait", "--timeout", "2s"])))),
        ("periodSeconds", Int(10)),
        ("timeoutSeconds", Int(5)),
        ("failureThreshold", Int(3)));

    private static YamlMappingNode Exec(IEnumerable<string> command) => Map(("exec", Map(("command", Strings(command)))));

    private static YamlMappingNode FieldEnv(string name, string fieldPath) => Map(
        ("name", String(name)),
        ("valueFrom", Map(("fieldRef", Map(("fieldPath", String(fieldPath)))))));

    private static YamlMappingNode Resources(string cpu, string memory, string cpuLimit, string memoryLimit) => Map(
        ("requests", Map(("cpu", String(cpu)), ("memory", String(memory)))),
        ("limits", Map(("cpu", String(cpuLimit)), ("memory", String(memoryLimit)))));
}
