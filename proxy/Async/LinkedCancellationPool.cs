using System.Collections.Concurrent;

namespace Herald.Proxy.Async;

/// <summary>Idle <see cref="LinkedCancellation"/>s, at most <c>capacity</c> of them.</summary>
internal sealed class LinkedCancellationPool(int capacity)
{
    private readonly ConcurrentQueue<LinkedCancellation> _idle = new();
    private int _count;

    /// <summary>The pool of the request path: 1,024 idle sources (two per HTTP/2 request in flight).</summary>
    public static LinkedCancellationPool Shared { get; } = new(1024);

    /// <summary>Idle sources held.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>A source that is cancelled when <paramref name="parent"/> is (at once if it already is).</summary>
    public LinkedCancellation Rent(CancellationToken parent)
    {
        if (_idle.TryDequeue(out var linked))
        {
            Interlocked.Decrement(ref _count);
        }
        else
        {
            linked = new LinkedCancellation();
        }

        linked.Link(parent);
        return linked;
    }

    /// <summary>
    /// Ends a use. <paramref name="reusable"/> is false when something outside the request may
    /// still cancel the source (a timer that fired and whose callback may not have run yet): such
    /// a source is disposed, never handed to another request.
    /// </summary>
    public void Return(LinkedCancellation linked, bool reusable)
    {
        ArgumentNullException.ThrowIfNull(linked);
        if (linked.TryReset() && reusable)
        {
            if (Interlocked.Increment(ref _count) <= capacity)
            {
                _idle.Enqueue(linked);
                return;
            }

            Interlocked.Decrement(ref _count);
        }

        linked.Dispose();
    }
}
