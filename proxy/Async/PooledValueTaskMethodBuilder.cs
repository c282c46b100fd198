using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Herald.Proxy.Async;

/// <summary>
/// Builds <see cref="ValueTask{TResult}"/>-returning async methods of the request path
/// (<c>[AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder&lt;&gt;))]</c>). Like the
/// runtime's <see cref="PoolingAsyncValueTaskMethodBuilder{TResult}"/>, a method that
/// suspends keeps its state in a reusable box; unlike it, boxes go back to a bounded pool per
/// method (<see cref="PooledValueTaskBox{TStateMachine, TResult}"/>) that holds as many as
/// there are requests in flight. The runtime's keeps one per thread and one per core, so with
/// 32 connections nearly every suspension allocated a new box: six per proxied HTTP/1.1
/// request, about 950 bytes.
/// </summary>
[StructLayout(LayoutKind.Auto)]
internal struct PooledValueTaskMethodBuilder<TResult>
{
    private PooledValueTaskBox<TResult>? _box;
    private Exception? _exception;
    private TResult _result;

    public static PooledValueTaskMethodBuilder<TResult> Create() => default;

    public readonly ValueTask<TResult> Task =>
        _box is { } box ? new ValueTask<TResult>(box, box.Version)
        : _exception is { } exception ? ValueTask.FromException<TResult>(exception)
        : new ValueTask<TResult>(_result);

    // Saves and restores the caller's execution and synchronization contexts around the
    // first MoveNext, as every runtime builder does.
    [SuppressMessage("Performance", "CA1822", Justification = "The compiler calls builder members on the instance.")]
    public readonly void Start<TStateMachine>(ref TStateMachine stateMachine)
        where TStateMachine : IAsyncStateMachine =>
        AsyncValueTaskMethodBuilder<TResult>.Create().Start(ref stateMachine);

    [SuppressMessage("Performance", "CA1822", Justification = "The compiler calls builder members on the instance.")]
    public readonly void SetStateMachine(IAsyncStateMachine stateMachine)
    {
        // Boxes are made by the builder itself; nothing to record.
    }

    public void SetResult(TResult result)
    {
        if (_box is { } box)
        {
            box.SetResult(result);
        }
        else
        {
            _result = result;
        }
    }

    public void SetException(Exception exception)
    {
        if (_box is { } box)
        {
            box.SetException(exception);
        }
        else
        {
            _exception = exception;
        }
    }

    public void AwaitOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : INotifyCompletion
        where TStateMachine : IAsyncStateMachine =>
        awaiter.OnCompleted(GetBox(ref stateMachine).MoveNextAction);

    public void AwaitUnsafeOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : ICriticalNotifyCompletion
        where TStateMachine : IAsyncStateMachine =>
        awaiter.UnsafeOnCompleted(GetBox(ref stateMachine).MoveNextAction);

    private PooledValueTaskBox<TStateMachine, TResult> GetBox<TStateMachine>(ref TStateMachine stateMachine)
        where TStateMachine : IAsyncStateMachine
    {
        var context = ExecutionContext.Capture();
        if (_box is PooledValueTaskBox<TStateMachine, TResult> box)
        {
            // Suspended before: the state machine already lives in the box.
            box.Context = context;
            return box;
        }

        box = PooledValueTaskBox<TStateMachine, TResult>.Rent();
        box.Context = context;

        // The builder is a field of the state machine: set the box first so that the copy
        // the box keeps knows it.
        _box = box;
        box.StateMachine = stateMachine;
        return box;
    }
}
