using Herald.Tests.TestSupport.EndToEnd;

namespace Herald.Tests.TestSupport.Tls;

/// <summary>Runs <c>openssl s_client</c> against a local port: one handshake, nothing sent, then exit.</summary>
public static class OpensslClient
{
    /// <summary>Connects with SNI <paramref name="serverName"/>, verifying against <paramref name="caPath"/> for that name.</summary>
    public static async Task<ProcessResult> HandshakeAsync(int port, string serverName, string caPath, string? alpn = null)
    {
        List<string> arguments =
        [
            "s_client", "-connect", $"127.0.0.1:{port}", "-servername", serverName,
            "-CAfile", caPath, "-verify_hostname", serverName, "-verify_return_error",
        ];
        if (alpn is not null)
        {
            arguments.AddRange(["-alpn", alpn]);
        }

        using var child = ChildProcess.Start(Tools.Openssl, arguments, redirectStdin: true);
        child.StandardInput.Close();
        var exitCode = await child.WaitForExitAsync(TimeSpan.FromSeconds(30));
        return new ProcessResult(child.Description, exitCode, child.Stdout, child.Stderr);
    }
}
