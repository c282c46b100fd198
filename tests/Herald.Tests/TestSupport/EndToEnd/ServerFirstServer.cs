namespace Herald.Tests.TestSupport.EndToEnd;

/// <summary>A TCP server that sends <see cref="Banner"/> as soon as a client connects, then echoes.</summary>
public sealed class ServerFirstServer : TcpEchoServer
{
    public const string Banner = "220 herald-e2e ESMTP ready\r\n";

    private ServerFirstServer()
        : base(Banner)
    {
    }

    public static new ServerFirstServer Start() => new();
}
