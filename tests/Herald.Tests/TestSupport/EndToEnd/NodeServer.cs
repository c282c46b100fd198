namespace Herald.Tests.TestSupport.EndToEnd;

/// <summary>A running Node peer server (grpc-server.js or ws-server.js); killed on dispose.</summary>
public sealed class NodeServer : IAsyncDisposable
{
    internal NodeServer(ChildProcess process, int port)
    {
        Process = process;
        Port = port;
    }

    public ChildProcess Process { get; }

    public int Port { get; }

    /// <summary>127.0.0.1:PORT.</summary>
    public string Address => $"127.0.0.1:{Port}";

    public ValueTask DisposeAsync() => Process.DisposeAsync();
}
