using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace Herald.Proxy.Async;

/// <summary>The completion half of a pooled async method's box: what its caller awaits.</summary>
internal abstract class PooledValueTaskBox<TResult> : IValueTaskSource<TResult>
{
    /// <summary>Idle boxes kept per method: enough for a few hundred requests in flight, about 40 KB at most.</summary>
    internal const int PoolCapacity = 256;

    private ManualResetValueTaskSourceCore<TResult> _core;

    public short Version => _core.Version;

    public void SetResult(TResult result) => _core.SetResult(result);

    public void SetException(Exception exception) => _core.SetException(exception);

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    public TResult GetResult(short token)
    {
        // A ValueTask is awaited once: after its result is read the box can serve another
        // call. A box that completed with an exception is dropped, as the runtime's are.
        var result = _core.GetResult(token);
        _core.Reset();
        Return();
        return result;
    }

    protected abstract void Return();
}

/// <summary>
/// The box of one async method (one <typeparamref name="TStateMachine"/>): its state machine,
/// the execution context to resume in, and a bounded pool of idle boxes shared by all threads.
/// </summary>
internal sealed class PooledValueTaskBox<TStateMachine, TResult> : PooledValueTaskBox<TResult>
    where TStateMachine : IAsyncStateMachine
{
    private static readonly ContextCallback MoveNextInContext = static box => Unsafe.As<PooledValueTaskBox<TStateMachine, TResult>>(box!).StateMachine.MoveNext();
    private static readonly Lock PoolLock = new();
    private static readonly PooledValueTaskBox<TStateMachine, TResult>?[] Pool = new PooledValueTaskBox<TStateMachine, TResult>?[PoolCapacity];
    private static int _pooled;
    private static int _created;

    [ThreadStatic]
    private static PooledValueTaskBox<TStateMachine, TResult>? _threadCached;

    public TStateMachine StateMachine = default!;
    public ExecutionContext? Context;

    private PooledValueTaskBox()
    {
        MoveNextAction = MoveNext;
        Interlocked.Increment(ref _created);
    }

    public Action MoveNextAction { get; }

    /// <summary>Boxes made for this method since start, pooled or in use (tests).</summary>
    internal static int CreatedCount => Volatile.Read(ref _created);

    public static PooledValueTaskBox<TStateMachine, TResult> Rent()
    {
        if (_threadCached is { } cached)
        {
            _threadCached = null;
            return cached;
        }

        lock (PoolLock)
        {
            if (_pooled > 0)
            {
                var box = Pool[--_pooled]!;
                Pool[_pooled] = null;
                return box;
            }
        }

        return new PooledValueTaskBox<TStateMachine, TResult>();
    }

    protected override void Return()
    {
        // Nothing the finished call referenced stays reachable from an idle box.
        StateMachine = default!;
        Context = null;
        if (_threadCached is null)
        {
            _threadCached = this;
            return;
        }

        lock (PoolLock)
        {
            if (_pooled < Pool.Length)
            {
                Pool[_pooled++] = this;
            }
        }
    }

    private void MoveNext()
    {
        if (Context is { } context)
        {
            ExecutionContext.Run(context, MoveNextInContext, this);
        }
        else
        {
            StateMachine.MoveNext();
        }
    }
}
