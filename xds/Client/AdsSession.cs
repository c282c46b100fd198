using Envoy.Config.Core.V3;
using Google.Rpc;

namespace Herald.Xds.Client;

/// <summary>
/// One ADS stream, state of the world or delta: turns responses into updates for the state
/// machine and answers with ACK, NACK and subscription changes. Nonces live and die with it.
/// </summary>
internal abstract class AdsSession : IAsyncDisposable
{
    // Nonces already seen on this stream, to ignore replays; bounded, oldest forgotten first.
    private const int NonceMemory = 256;
    private readonly HashSet<string> _seenNonces = new(StringComparer.Ordinal);
    private readonly Queue<string> _nonceOrder = new();
    private readonly Action _publishStatus;
    private Node? _node;

    protected AdsSession(AdsStateMachine state, Node node, TimeProvider time, Action publishStatus)
    {
        State = state;
        _node = node;
        Time = time;
        _publishStatus = publishStatus;
    }

    /// <summary>An update on this stream was accepted (resets the reconnect backoff).</summary>
    public bool DeliveredAcceptedConfig { get; protected set; }

    protected AdsStateMachine State { get; }

    protected TimeProvider Time { get; }

    /// <summary>Reads the next response; null at the end of the stream.</summary>
    public abstract ValueTask<object?> ReadAsync(CancellationToken cancellationToken);

    /// <summary>Subscribes to everything the state machine wants, with what it already holds.</summary>
    public abstract Task SendInitialRequestsAsync(CancellationToken cancellationToken);

    public abstract Task HandleResponseAsync(object response, CancellationToken cancellationToken);

    /// <summary>Tells the server about names added or dropped since the last request.</summary>
    public abstract Task SendSubscriptionChangesAsync(CancellationToken cancellationToken);

    public abstract Task SendLateNackAsync(AdsLateNack nack, CancellationToken cancellationToken);

    public abstract ValueTask DisposeAsync();

    /// <summary>The node goes on the first request of a stream only.</summary>
    protected Node? TakeNode()
    {
        var node = _node;
        _node = null;
        return node;
    }

    /// <summary>True the first time a nonce shows up on this stream.</summary>
    protected bool IsFreshNonce(string nonce)
    {
        if (string.IsNullOrEmpty(nonce))
        {
            return true;
        }

        if (!_seenNonces.Add(nonce))
        {
            return false;
        }

        _nonceOrder.Enqueue(nonce);
        if (_nonceOrder.Count > NonceMemory)
        {
            _seenNonces.Remove(_nonceOrder.Dequeue());
        }

        return true;
    }

    /// <summary>Status is published before an answer leaves, so whoever sees the answer sees the status.</summary>
    protected void PublishStatus() => _publishStatus();

    protected void RecordNack(AdsTypeState type, string rejectedVersion, string message) =>
        type.LastNack = new XdsNack(rejectedVersion, message, Time.GetUtcNow());

    protected static Status ErrorDetail(string message) => new() { Code = 3, Message = message };

    protected static bool SameNames(HashSet<string> a, HashSet<string> b) => a.SetEquals(b);
}
