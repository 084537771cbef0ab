namespace Switchboard.Dispatch;

/// <summary>Disposes handler instances the bus created itself (not the container's, which their scope disposes).</summary>
internal static class HandlerDisposal
{
    /// <summary>Disposes each instance that is disposable, in reverse order of creation; every one is tried, and the first failure is rethrown after.</summary>
    public static async ValueTask DisposeAllAsync(List<object> instances)
    {
        Exception? first = null;
        for (int i = instances.Count - 1; i >= 0; i--)
        {
            try
            {
                switch (instances[i])
                {
                    case IAsyncDisposable asyncDisposable:
                        await asyncDisposable.DisposeAsync().ConfigureAwait(false);
                        break;
                    case IDisposable disposable:
                        disposable.Dispose();
                        break;
                }
            }
            catch (Exception ex)
            {
                first ??= ex;
            }
        }

        if (first is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(first);
        }
    }
}
