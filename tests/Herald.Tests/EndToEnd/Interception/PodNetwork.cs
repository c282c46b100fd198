using System.Diagnostics;
using System.Globalization;
using System.Net;
using Herald.Iptables;
using Herald.Tests.TestSupport.EndToEnd;

namespace Herald.Tests.EndToEnd.Interception;

/// <summary>
/// Four network namespaces made for one test class: a hub with a Linux bridge (10.251.N.1/24)
/// and three pods joined to it by veth pairs, A (.2), B (.3) and C (.4), loopback up everywhere.
/// Commands and processes run inside a namespace through <c>ip netns exec</c>. Dispose ends
/// whatever still runs in the namespaces (by process id) and deletes them, which removes
/// their links, addresses and rules with them, even when a test failed.
/// </summary>
internal sealed class PodNetwork : IDisposable
{
    private static readonly TimeSpan CurlTimeout = TimeSpan.FromSeconds(20);

    private readonly string _id;
    private bool _disposed;

    private PodNetwork(string id, int subnet)
    {
        _id = id;
        Hub = new Pod("hub", $"herald-m-{id}-hub", Address(subnet, 1));
        A = new Pod("a", $"herald-m-{id}-a", Address(subnet, 2));
        B = new Pod("b", $"herald-m-{id}-b", Address(subnet, 3));
        C = new Pod("c", $"herald-m-{id}-c", Address(subnet, 4));
    }

    /// <summary>The hub: the bridge's own address; the control plane runs here.</summary>
    public Pod Hub { get; }

    public Pod A { get; }

    public Pod B { get; }

    public Pod C { get; }

    private IEnumerable<Pod> All => [A, B, C, Hub];

    public static PodNetwork Create()
    {
        NamespacePair.RequireRoot();
        var id = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray().AsSpan(0, 3));
        var network = new PodNetwork(id, Random.Shared.Next(1, 250));
        try
        {
            network.Build();
        }
        catch
        {
            network.Dispose();
            throw;
        }

        return network;
    }

    /// <summary>A command runner whose commands run inside <paramref name="pod"/>'s namespace.</summary>
    public ICommandRunner Runner(Pod pod) => new ProcessCommandRunner(["ip", "netns", "exec", pod.Namespace]);

    /// <summary>Runs a command in the pod's namespace; throws with its stderr unless it exits 0.</summary>
    public string Must(Pod pod, params string[] command)
    {
        var result = Runner(pod).Run(command[0], command[1..]);
        if (!result.Ok)
        {
            throw new InvalidOperationException($"{string.Join(' ', command)} in {pod} failed ({result.ExitCode}): {result.Stderr}");
        }

        return result.Stdout;
    }

    /// <summary>Starts a long-running process inside the pod's namespace (killed with the returned handle).</summary>
    public ChildProcess Start(Pod pod, IReadOnlyList<string> command, string? workingDirectory = null) =>
        ChildProcess.Start("ip", ["netns", "exec", pod.Namespace, .. command], workingDirectory);

    /// <summary>Runs a command inside the pod's namespace to completion, killed after <paramref name="timeout"/>.</summary>
    public Task<ProcessResult> RunAsync(Pod pod, IReadOnlyList<string> command, TimeSpan timeout, string? workingDirectory = null) =>
        ProcessRunner.RunAsync("ip", ["netns", "exec", pod.Namespace, .. command], timeout, workingDirectory);

    /// <summary>curl inside the pod's namespace: silent but showing errors, never through a proxy, bounded to 10 s.</summary>
    public Task<ProcessResult> CurlAsync(Pod pod, params string[] args) =>
        RunAsync(pod, [Tools.Curl, "-sS", "--noproxy", "*", "--max-time", "10", .. args], CurlTimeout);

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var pod in All)
        {
            KillLeftovers(pod);
        }

        // Deleting a namespace removes its veth end (and so the pair), its bridge, rules and routes.
        foreach (var pod in All)
        {
            Host(["netns", "del", pod.Namespace], ignoreFailure: true);
        }
    }

    private static IPAddress Address(int subnet, int host) => IPAddress.Parse($"10.251.{subnet}.{host}");

    /// <summary>Runs ip(8) in the test's own namespace: only to create and delete the test's namespaces and links.</summary>
    private static void Host(string[] args, bool ignoreFailure = false)
    {
        var result = new ProcessCommandRunner().Run("ip", args);
        if (!result.Ok && !ignoreFailure)
        {
            throw new InvalidOperationException($"ip {string.Join(' ', args)} failed ({result.ExitCode}): {result.Stderr}");
        }
    }

    private void Build()
    {
        var bridge = $"hm{_id}br";
        foreach (var pod in All)
        {
            Host(["netns", "add", pod.Namespace]);
            Must(pod, "ip", "link", "set", "lo", "up");
        }

        Must(Hub, "ip", "link", "add", bridge, "type", "bridge");
        Must(Hub, "ip", "addr", "add", $"{Hub.Address}/24", "dev", bridge);
        Must(Hub, "ip", "link", "set", bridge, "up");
        foreach (var pod in new[] { A, B, C })
        {
            // Both ends are created straight inside their namespaces, so no name meets the host's links.
            var hubEnd = $"hm{_id}h{pod.Name}";
            var podEnd = $"hm{_id}p{pod.Name}";
            Host(["link", "add", hubEnd, "netns", Hub.Namespace, "type", "veth", "peer", "name", podEnd, "netns", pod.Namespace]);
            Must(Hub, "ip", "link", "set", hubEnd, "master", bridge);
            Must(Hub, "ip", "link", "set", hubEnd, "up");
            Must(pod, "ip", "addr", "add", $"{pod.Address}/24", "dev", podEnd);
            Must(pod, "ip", "link", "set", podEnd, "up");
        }
    }

    /// <summary>
    /// Ends the processes still inside one of this network's namespaces (their handles normally
    /// end them first): every one of them was started by this test class, and a namespace
    /// outlives its deletion while a process holds it.
    /// </summary>
    private void KillLeftovers(Pod pod)
    {
        var pids = new ProcessCommandRunner().Run("ip", ["netns", "pids", pod.Namespace]);
        if (!pids.Ok)
        {
            return;
        }

        foreach (var line in pids.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(line, NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                using var process = Process.GetProcessById(pid);
                process.Kill(entireProcessTree: true);
                process.WaitForExit(5000);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // Already gone.
            }
        }
    }
}
