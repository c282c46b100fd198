using System.Net;
using System.Net.Sockets;
using System.Text;
using Herald.Iptables;
using Herald.Tests.TestSupport.EndToEnd;

namespace Herald.Tests.EndToEnd.Interception;

/// <summary>Install helpers and a one-line TCP exchange for the namespace tests.</summary>
internal static class InterceptionTestKit
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    public static InterceptionReport Install(NamespacePair pair, params string[] flags) =>
        new InterceptionInstaller(pair.Runner(pair.App)).Install(InterceptionOptionsParser.Parse(flags));

    public static InterceptionReport Verify(NamespacePair pair, params string[] flags) =>
        new InterceptionInstaller(pair.Runner(pair.App)).Verify(InterceptionOptionsParser.Parse(flags));

    public static InterceptionReport Uninstall(NamespacePair pair) =>
        new InterceptionInstaller(pair.Runner(pair.App)).Uninstall(new InterceptionOptions());

    /// <summary>
    /// Connects from <paramref name="ns"/> as <paramref name="uid"/> with bash's /dev/tcp, sends a line and
    /// prints the line it gets back. The socket's owner is what the owner match sees.
    /// </summary>
    public static Task<ProcessResult> ConnectAsync(string ns, int uid, IPAddress address, int port) =>
        ProcessRunner.RunAsync(
            "ip",
            ["netns", "exec", ns, "setpriv", $"--reuid={uid}", $"--regid={uid}", "--clear-groups", "bash", "-c",
                $"exec 3<>/dev/tcp/{address}/{port} && echo hello >&3 && read -r line <&3 && echo \"got:$line\""],
            Timeout);

    public static async Task<Socket> AcceptAsync(Socket listener)
    {
        using var cts = new CancellationTokenSource(Timeout);
        return await listener.AcceptAsync(cts.Token);
    }

    /// <summary>Reads the client's line, answers one, and closes.</summary>
    public static async Task ReplyAsync(Socket accepted, string reply)
    {
        using var cts = new CancellationTokenSource(Timeout);
        var buffer = new byte[64];
        await accepted.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
        await accepted.SendAsync(Encoding.ASCII.GetBytes(reply + "\n"), SocketFlags.None, cts.Token);
        accepted.Shutdown(SocketShutdown.Both);
    }

    /// <summary>True when a connection is waiting to be accepted: after the client finished elsewhere, it was misrouted here.</summary>
    public static bool HasPending(Socket listener) => listener.Poll(0, SelectMode.SelectRead);
}
