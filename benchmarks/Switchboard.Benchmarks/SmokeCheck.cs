using System.Diagnostics;
using System.Reflection;
using BenchmarkDotNet.Attributes;

namespace Switchboard.Benchmarks;

/// <summary>
/// <c>--smoke</c>: runs every benchmark a few times outside BenchmarkDotNet and checks that each contender did the
/// same work (the counter moved by the number of handler calls the case promises). A contender that silently
/// skips a handler would otherwise look fast.
/// </summary>
public static class SmokeCheck
{
    public static int Run(string? filter)
    {
        int failures = 0;
        foreach (Type type in typeof(SmokeCheck).Assembly.GetTypes().Where(t => t.IsClass && !t.IsAbstract && t.IsPublic).OrderBy(t => t.Name))
        {
            foreach (MethodInfo method in type.GetMethods().Where(m => m.GetCustomAttribute<BenchmarkAttribute>() is not null))
            {
                string name = $"{type.Name}.{method.Name}";
                if (filter is not null && !name.Contains(filter, StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                failures += Check(type, method, name) ? 0 : 1;
            }
        }

        Console.WriteLine(failures == 0 ? "smoke: all benchmarks did the expected work" : $"smoke: {failures} benchmark(s) failed");
        return failures == 0 ? 0 : 1;
    }

    private static bool Check(Type type, MethodInfo method, string name)
    {
        object instance = Activator.CreateInstance(type)!;
        Stopwatch clock = Stopwatch.StartNew();
        try
        {
            Invoke<GlobalSetupAttribute>(type, instance, method.Name);
            int perInvoke = method.GetCustomAttribute<BenchmarkAttribute>()!.OperationsPerInvoke;
            int handlersPerOp = method.Name == "Publish3" ? 3 : 1;
            const int Invocations = 3;
            long before = Work.Count;
            for (int i = 0; i < Invocations; i++)
            {
                Await(method.Invoke(instance, null));
            }

            // Handlers that run elsewhere (async, background) have finished once the call returned or WaitFor passed.
            long done = Work.Count - before;
            long expected = (long)Invocations * perInvoke * handlersPerOp;
            bool ok = done == expected;
            Console.WriteLine($"{(ok ? "ok  " : "FAIL")} {name,-50} handler calls {done}, expected {expected} ({clock.ElapsedMilliseconds} ms)");
            return ok;
        }
        catch (Exception ex)
        {
            Console.WriteLine($"FAIL {name,-50} {ex.GetBaseException().GetType().Name}: {ex.GetBaseException().Message}");
            return false;
        }
        finally
        {
            try
            {
                Invoke<GlobalCleanupAttribute>(type, instance, method.Name);
            }
            catch (Exception ex)
            {
                Console.WriteLine($"     {name} cleanup: {ex.GetBaseException().Message}");
            }
        }
    }

    private static void Invoke<TAttribute>(Type type, object instance, string benchmark)
        where TAttribute : TargetedAttribute
    {
        foreach (MethodInfo m in type.GetMethods())
        {
            TAttribute? attribute = m.GetCustomAttribute<TAttribute>();
            if (attribute is not null && (attribute.Targets.Length == 0 || attribute.Targets.Contains(benchmark)))
            {
                Await(m.Invoke(instance, null));
            }
        }
    }

    private static void Await(object? result)
    {
        switch (result)
        {
            case Task task:
                task.GetAwaiter().GetResult();
                break;
            case ValueTask valueTask:
                // GetResult on a ValueTask that has not completed is not allowed (it may be backed by a pooled source).
                valueTask.AsTask().GetAwaiter().GetResult();
                break;
            case null:
                break;
            default:
                // ValueTask<T>: go through AsTask to wait without knowing T.
                Type t = result.GetType();
                if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(ValueTask<>))
                {
                    ((Task)t.GetMethod("AsTask")!.Invoke(result, null)!).GetAwaiter().GetResult();
                }

                break;
        }
    }
}
