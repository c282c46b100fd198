using System.ComponentModel;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Herald.Iptables;

namespace Herald.Tests.EndToEnd.Interception;

/// <summary>
/// Two network namespaces made for one test, joined by a veth pair: "app" (10.250.N.1, where
/// the rules go) and "peer" (10.250.N.2). Everything the test creates lives inside them, and
/// deleting them on Dispose removes it all, even when the test failed.
/// </summary>
internal sealed partial class NamespacePair : IDisposable
{
    private const int CloneNewNet = 0x40000000;
    private const int SolIp = 0;
    private const int IpTransparent = 19;

    private NamespacePair(string app, string peer, int subnet)
    {
        App = app;
        Peer = peer;
        AppAddress = IPAddress.Parse($"10.250.{subnet}.1");
        PeerAddress = IPAddress.Parse($"10.250.{subnet}.2");
    }

    public string App { get; }

    public string Peer { get; }

    public IPAddress AppAddress { get; }

    public IPAddress PeerAddress { get; }

    public static NamespacePair Create()
    {
        RequireRoot();
        var id = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray().AsSpan(0, 3));
        var pair = new NamespacePair($"herald-t-{id}a", $"herald-t-{id}p", Random.Shared.Next(1, 250));
        try
        {
            Host(["netns", "add", pair.App]);
            Host(["netns", "add", pair.Peer]);
            Host(["link", "add", $"hv{id}a", "netns", pair.App, "type", "veth", "peer", "name", $"hv{id}p", "netns", pair.Peer]);
            foreach (var (ns, dev, address) in new[] { (pair.App, $"hv{id}a", pair.AppAddress), (pair.Peer, $"hv{id}p", pair.PeerAddress) })
            {
                pair.Must(ns, "ip", "addr", "add", $"{address}/24", "dev", dev);
                pair.Must(ns, "ip", "link", "set", dev, "up");
                pair.Must(ns, "ip", "link", "set", "lo", "up");
            }
        }
        catch
        {
            pair.Dispose();
            throw;
        }

        return pair;
    }

    /// <summary>Interception tests change the kernel's rules: they need root, and must fail loudly rather than skip.</summary>
    public static void RequireRoot()
    {
        if (!Environment.IsPrivilegedProcess)
        {
            throw new InvalidOperationException(
                "interception end-to-end tests need root (network namespaces, iptables): run them as root, as CI does");
        }
    }

    public ICommandRunner Runner(string ns) => new ProcessCommandRunner(["ip", "netns", "exec", ns]);

    public CommandResult Run(string ns, params string[] command) => Runner(ns).Run(command[0], command[1..]);

    public string Must(string ns, params string[] command)
    {
        var result = Run(ns, command);
        if (!result.Ok)
        {
            throw new InvalidOperationException($"{string.Join(' ', command)} in {ns} failed ({result.ExitCode}): {result.Stderr}");
        }

        return result.Stdout;
    }

    /// <summary>iptables-save of every table of both families, without comments and counters, plus the policy routing.</summary>
    public string RuleState(string ns)
    {
        var state = string.Join("\n",
            "== v4", Must(ns, "iptables-save"),
            "== v6", Must(ns, "ip6tables-save"),
            "== rules v4", Must(ns, "ip", "-4", "rule", "show"),
            "== rules v6", Must(ns, "ip", "-6", "rule", "show"),
            "== routes", Must(ns, "ip", "route", "show", "table", "all"));
        // The kernel adds IPv6 link-local and multicast routes on its own schedule after a link
        // comes up; they are never Herald's, so they are left out of the comparison.
        var lines = state.Split('\n').Where(l => !l.StartsWith('#') && !l.Contains("fe80::", StringComparison.Ordinal) && !l.Contains("ff00::", StringComparison.Ordinal));
        return Counters().Replace(string.Join('\n', lines), "[0:0]");
    }

    /// <summary>A TCP listener created inside the namespace: a socket stays in the namespace it was made in.</summary>
    public Socket Listen(string ns, IPEndPoint endpoint, bool transparent = false) => InNamespace(ns, () =>
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (transparent)
            {
                socket.SetRawSocketOption(SolIp, IpTransparent, BitConverter.GetBytes(1));
            }

            socket.Bind(endpoint);
            socket.Listen(16);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    });

    public void Dispose()
    {
        // Deleting a namespace removes its veth end, rules and routes with it.
        foreach (var ns in new[] { App, Peer })
        {
            Host(["netns", "del", ns], ignoreFailure: true);
        }
    }

    /// <summary>Runs on a fresh thread moved into the namespace (setns affects only the calling thread).</summary>
    private static T InNamespace<T>(string ns, Func<T> action)
    {
        T? result = default;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var handle = File.OpenHandle($"/var/run/netns/{ns}");
                if (SetNs((int)handle.DangerousGetHandle(), CloneNewNet) != 0)
                {
                    throw new Win32Exception(Marshal.GetLastPInvokeError(), $"setns into {ns}");
                }

                result = action();
            }
            catch (Exception e)
            {
                error = e;
            }
        });
        thread.Start();
        thread.Join();
        if (error is not null)
        {
            throw new InvalidOperationException($"in namespace {ns}: {error.Message}", error);
        }

        return result!;
    }

    /// <summary>Runs ip(8) in the test's own namespace: only to create and delete the test's namespaces.</summary>
    private static void Host(string[] args, bool ignoreFailure = false)
    {
        var result = new ProcessCommandRunner().Run("ip", args);
        if (!result.Ok && !ignoreFailure)
        {
            throw new InvalidOperationException($"ip {string.Join(' ', args)} failed ({result.ExitCode}): {result.Stderr}");
        }
    }

#pragma warning disable SYSLIB1054, CA5392, CA2101
    [DllImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static extern int SetNs(int fd, int nstype);
#pragma warning restore SYSLIB1054, CA5392, CA2101

    [GeneratedRegex(@"\[\d+:\d+\]")]
    private static partial Regex Counters();
}
