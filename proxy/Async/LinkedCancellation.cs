namespace Herald.Proxy.Async;

/// <summary>
/// A <see cref="CancellationTokenSource"/> cancelled with a parent token, reused from request to
/// request through a <see cref="LinkedCancellationPool"/>. <c>CreateLinkedTokenSource</c> per
/// request allocated the source, its registration table and one node for each wait registered
/// on it: a quarter of the bytes an HTTP/2 request allocated. A returned source is reset
/// (<see cref="CancellationTokenSource.TryReset"/>), which keeps the table and its nodes and
/// drops every registration still on it, so a late waiter of one request is never cancelled by
/// the next.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The pool disposes the source when it does not keep it: its lifetime ends there.")]
internal sealed class LinkedCancellation
{
    private readonly CancellationTokenSource _source = new();
    private CancellationTokenRegistration _link;

    public CancellationTokenSource Source => _source;

    public CancellationToken Token => _source.Token;

    internal void Link(CancellationToken parent) =>
        _link = parent.UnsafeRegister(static state => ((LinkedCancellation)state!).CancelFromParent(), this);

    /// <summary>Unlinks from the parent and resets; false when the source was cancelled (it is disposed then).</summary>
    internal bool TryReset()
    {
        // Waits for a parent callback under way on another thread: afterwards the parent cannot reach this source.
        _link.Dispose();
        _link = default;
        return _source.TryReset();
    }

    internal void Dispose() => _source.Dispose();

    private void CancelFromParent()
    {
        try
        {
            _source.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Returned and dropped meanwhile: the wait it bounded is over.
        }
    }
}
