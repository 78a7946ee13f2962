package io.decostream.nn.weights;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.decostream.nn.safetensors.SafeTensors;
import io.decostream.nn.safetensors.SafeTensorsException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The strict {@link WeightBinder} over a safetensors checkpoint (spec §6: every weight widened to
 * F32 once, at bind time, held once).
 *
 * <p>The root instance owns a sub-manager of the given manager that holds every bound array, and
 * (when opened with {@link #open}) the {@link SafeTensors}; {@link #close()} on the root releases
 * both. Views from {@link #scoped(String)} share the root's cache and use record; closing a view
 * does nothing.
 */
public final class CheckpointWeights implements WeightBinder, AutoCloseable {

  private final Root root;
  private final String prefix;
  private final boolean isRoot;

  private static final class Root {
    final SafeTensors tensors;
    final boolean ownsTensors;
    final NDManager manager;
    final Map<String, NDArray> bound = new ConcurrentHashMap<>();

    Root(SafeTensors tensors, boolean ownsTensors, NDManager manager) {
      this.tensors = tensors;
      this.ownsTensors = ownsTensors;
      this.manager = manager;
    }
  }

  private CheckpointWeights(Root root, String prefix, boolean isRoot) {
    this.root = root;
    this.prefix = prefix;
    this.isRoot = isRoot;
  }

  /**
   * A binder over {@code tensors} (not closed by this binder); bound arrays live in a sub-manager
   * of {@code manager}, closed by {@link #close()}.
   */
  public CheckpointWeights(SafeTensors tensors, NDManager manager) {
    this(new Root(tensors, false, manager.newSubManager()), "", true);
  }

  /**
   * Opens the checkpoint at {@code fileOrDir} ({@link SafeTensors#open}); {@link #close()} closes
   * it too.
   */
  public static CheckpointWeights open(Path fileOrDir, NDManager manager) {
    SafeTensors st = SafeTensors.open(fileOrDir);
    try {
      return new CheckpointWeights(new Root(st, true, manager.newSubManager()), "", true);
    } catch (RuntimeException e) {
      st.close();
      throw e;
    }
  }

  /** The underlying checkpoint (for name queries such as {@link LlavaKeys#detect}). */
  public SafeTensors tensors() {
    return root.tensors;
  }

  /** The manager that holds all bound weights. */
  public NDManager manager() {
    return root.manager;
  }

  @Override
  public NDArray bind(String name, long... expectedShape) {
    return bind(name, Precision.F32, expectedShape);
  }

  @Override
  public NDArray bind(String name, Precision storage, long... expectedShape) {
    String full = prefix + name;
    NDArray cached = root.bound.get(full);
    if (cached != null) {
      long[] held = Bf16.holds(cached) ? Bf16.valueShape(cached) : cached.getShape().getShape();
      checkShape(full, expectedShape, held);
      if (cached.getDataType() != storage.dataType()) {
        throw new WeightException(
            "weight '"
                + full
                + "' is already held as "
                + cached.getDataType()
                + " and cannot be bound again as "
                + storage);
      }
      return cached;
    }
    if (!root.tensors.contains(full)) {
      throw new WeightException(
          "missing weight '"
              + full
              + "' (expected shape "
              + Arrays.toString(expectedShape)
              + ")"
              + nearby(full));
    }
    long[] actual = root.tensors.info(full).shape();
    checkShape(full, expectedShape, actual);
    try {
      return root.bound.computeIfAbsent(
          full,
          n ->
              switch (storage) {
                case F16 -> root.tensors.toF16NDArray(root.manager, n);
                case BF16 -> root.tensors.toBf16Bytes(root.manager, n);
                case F32 -> root.tensors.toNDArray(root.manager, n);
              });
    } catch (SafeTensorsException e) {
      throw new WeightException("cannot load weight '" + full + "': " + e.getMessage(), e);
    }
  }

  private static void checkShape(String full, long[] expected, long[] actual) {
    if (!Arrays.equals(expected, actual)) {
      throw new WeightException(
          "weight '"
              + full
              + "' has shape "
              + Arrays.toString(actual)
              + " but the model expects "
              + Arrays.toString(expected));
    }
  }

  /**
   * A hint listing a few checkpoint names under the same parent, to make key-layout mistakes
   * obvious.
   */
  private String nearby(String full) {
    int dot = full.lastIndexOf('.', full.length() - 2);
    String parent = dot < 0 ? "" : full.substring(0, dot + 1);
    List<String> sib =
        root.tensors.names().stream().filter(n -> n.startsWith(parent)).limit(5).toList();
    return sib.isEmpty()
        ? "; the checkpoint has no tensor under '" + parent + "'"
        : "; tensors under '" + parent + "': " + sib;
  }

  @Override
  public boolean has(String name) {
    return root.tensors.contains(prefix + name);
  }

  @Override
  public CheckpointWeights scoped(String sub) {
    String s = sub.isEmpty() || sub.endsWith(".") ? sub : sub + ".";
    return new CheckpointWeights(root, prefix + s, false);
  }

  @Override
  public String prefix() {
    return prefix;
  }

  /** Names under this binder's prefix that no block has bound yet, in checkpoint order. */
  public List<String> unusedNames() {
    return root.tensors.names().stream()
        .filter(n -> n.startsWith(prefix) && !root.bound.containsKey(n))
        .toList();
  }

  /** Names bound so far (full key paths). */
  public Set<String> usedNames() {
    return Set.copyOf(root.bound.keySet());
  }

  @Override
  public void assertAllUsed() {
    List<String> unused = unusedNames();
    if (!unused.isEmpty()) {
      int show = Math.min(unused.size(), 20);
      throw new WeightException(
          unused.size()
              + " checkpoint tensor(s) under '"
              + prefix
              + "' were never used by the model: "
              + unused.subList(0, show)
              + (unused.size() > show ? " ... and " + (unused.size() - show) + " more" : ""));
    }
  }

  /**
   * On the root: frees every bound weight and closes an owned checkpoint. On a scoped view: no-op.
   */
  @Override
  public void close() {
    if (!isRoot) {
      return;
    }
    root.bound.clear();
    root.manager.close();
    if (root.ownsTensors) {
      root.tensors.close();
    }
  }
}
