using System.Runtime.CompilerServices;

namespace Switchboard.Benchmarks;

/// <summary>
/// Waits for a dispatch inside the benchmark, as <c>await</c> does for a completed task, so every contender's synchronous
/// case returns the same thing to BenchmarkDotNet (nothing, or the plain result). Returning the task itself left its
/// handling to BenchmarkDotNet, whose cost differs between <see cref="ValueTask"/>, <see cref="ValueTask{TResult}"/> of
/// each result type and <see cref="Task"/>, and moved by several nanoseconds between processes for the same code
/// (docs/dev-notes/issue-14.md, fourth session).
/// </summary>
public static class Completion
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Wait(ValueTask task)
    {
        if (task.IsCompletedSuccessfully)
        {
            task.GetAwaiter().GetResult();
            return;
        }

        task.AsTask().GetAwaiter().GetResult();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Wait<T>(ValueTask<T> task) => task.IsCompletedSuccessfully ? task.Result : task.AsTask().GetAwaiter().GetResult();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Wait(Task task) => task.GetAwaiter().GetResult();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Wait<T>(Task<T> task) => task.GetAwaiter().GetResult();
}
