namespace Herald.Proxy.Cli;

/// <summary>Dispatches <c>herald COMMAND ...</c> to its command.</summary>
internal static class CommandLine
{
    public const int ExitOk = 0;
    public const int ExitFailure = 1;
    public const int ExitBadConfig = 2;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.Out.WriteLine(Usage);
            return args.Length == 0 ? ExitBadConfig : ExitOk;
        }

        var rest = args[1..];
        return args[0] switch
        {
            "proxy" => await ProxyCommand.RunAsync(rest).ConfigureAwait(false),
            "demo" => await DemoCommand.RunAsync(rest).ConfigureAwait(false),
            "iptables" => await IptablesCommand.RunAsync(rest).ConfigureAwait(false),
            "sidecar" => await SidecarCommand.RunAsync(rest).ConfigureAwait(false),
            "gateway" => await GatewayCommand.RunAsync(rest).ConfigureAwait(false),
            "control-plane" => await ControlPlaneCommand.RunAsync(rest).ConfigureAwait(false),
            "inject" => await InjectCommand.RunAsync(rest).ConfigureAwait(false),
            "wait" => await WaitCommand.RunAsync(rest).ConfigureAwait(false),
            _ => Unknown(args[0]),
        };
    }

    private static int Unknown(string command)
    {
        Console.Error.WriteLine($"herald: unknown command '{command}'.\n{Usage}");
        return ExitBadConfig;
    }

    public const string Usage = """
        usage: herald COMMAND [OPTIONS]

        gateway, sidecar and proxy drain their listeners on SIGTERM (up to --drain-time-s, default 30).

        commands:
          gateway [--config herald.yaml] [--demo] [--store etcd://HOST:PORT]
                                            control plane and gateway in one process (mesh file watched)
          control-plane --config mesh.yaml [--xds ADDR] [--api ADDR]
                                            the control plane alone: ADS over gRPC and the registry API
          sidecar --xds HOST:PORT --node-id ID --cluster NAME [--service NAME] [--interception REDIRECT|TPROXY]
                                            a data plane configured over ADS
          demo                              run the proxy with two demo upstreams on an example bootstrap
          proxy --bootstrap FILE [--admin ADDR] [--drain-time-s 30] [--drain-strategy immediate]
                                            run the data plane on an Envoy v3 bootstrap (YAML or JSON)
          iptables install|uninstall|verify|print [flags]
                                            manage the interception rules (the init container's job)
          inject -f FILE|- [-o FILE] [--image IMAGE] [--xds ADDR] [--interception REDIRECT|TPROXY]
                                            add Herald's init container and sidecar to Kubernetes workloads
          wait [--admin ADDR] [--timeout 60s]
                                            exit 0 once the local proxy's /ready answers 200 (a postStart hook)
        """;
}
