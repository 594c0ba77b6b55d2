// The one RxJS scaffold every streaming stage uses (resampling, features, windows): a stateful
// stage object gets each value and the completion; whatever it emits goes downstream, and a
// throw becomes the stream's error instead of escaping into the source.
import { Observable, type OperatorFunction } from 'rxjs';

export interface Stage<I> {
  push(value: I): void;
  /** End of the input: flush what is held back. */
  end(): void;
}

/** An operator around a stage built per subscription by `start(emit)`. */
export function stageOperator<I, O>(start: (emit: (value: O) => void) => Stage<I>): OperatorFunction<I, O> {
  return (source) =>
    new Observable<O>((sub) => {
      let stage: Stage<I>;
      try {
        stage = start((v) => sub.next(v));
      } catch (err) {
        sub.error(err);
        return;
      }
      return source.subscribe({
        next(value) {
          try {
            stage.push(value);
          } catch (err) {
            sub.error(err);
          }
        },
        error(err) {
          sub.error(err);
        },
        complete() {
          try {
            stage.end();
          } catch (err) {
            sub.error(err);
            return;
          }
          sub.complete();
        },
      });
    });
}
